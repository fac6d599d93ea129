package runner

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// LaunchSpec is a bundle's OCI spec converted by the daemon into what libcontainer's create
// needs: its config and the init process. The daemon sends it, encoded, in monitor.json (the
// pause) and in the create request (containers); the monitor hands the bytes to its helper
// (`podrun-runner monitor helper create`), which decodes them: the conversion happens once,
// in the daemon, and the monitor never decodes either spec.
type LaunchSpec struct {
	Config  *configs.Config `json:"config"`
	Process Process         `json:"process"`
}

// Process is libcontainer.Process without its stdio and runtime handles: the init of a
// LaunchSpec, or a process to exec in a running container.
type Process struct {
	Args             []string              `json:"args"`
	Env              []string              `json:"env,omitempty"`
	UID              int                   `json:"uid"`
	GID              int                   `json:"gid"`
	AdditionalGroups []int                 `json:"additionalGroups,omitempty"`
	Cwd              string                `json:"cwd"`
	NoNewPrivileges  bool                  `json:"noNewPrivileges,omitempty"`
	Label            string                `json:"label,omitempty"`
	AppArmorProfile  string                `json:"appArmorProfile,omitempty"`
	Capabilities     *configs.Capabilities `json:"capabilities,omitempty"`
	Rlimits          []configs.Rlimit      `json:"rlimits,omitempty"`
	ConsoleWidth     uint16                `json:"consoleWidth,omitempty"`
	ConsoleHeight    uint16                `json:"consoleHeight,omitempty"`
}

// rlimitTypes maps OCI rlimit names to their resource numbers.
var rlimitTypes = map[string]int{
	"RLIMIT_AS": unix.RLIMIT_AS, "RLIMIT_CORE": unix.RLIMIT_CORE, "RLIMIT_CPU": unix.RLIMIT_CPU,
	"RLIMIT_DATA": unix.RLIMIT_DATA, "RLIMIT_FSIZE": unix.RLIMIT_FSIZE, "RLIMIT_LOCKS": unix.RLIMIT_LOCKS,
	"RLIMIT_MEMLOCK": unix.RLIMIT_MEMLOCK, "RLIMIT_MSGQUEUE": unix.RLIMIT_MSGQUEUE,
	"RLIMIT_NICE": unix.RLIMIT_NICE, "RLIMIT_NOFILE": unix.RLIMIT_NOFILE, "RLIMIT_NPROC": unix.RLIMIT_NPROC,
	"RLIMIT_RSS": unix.RLIMIT_RSS, "RLIMIT_RTPRIO": unix.RLIMIT_RTPRIO, "RLIMIT_RTTIME": unix.RLIMIT_RTTIME,
	"RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING, "RLIMIT_STACK": unix.RLIMIT_STACK,
}

// ProcessFromSpec converts spec.Process, which specconv leaves alone.
func ProcessFromSpec(p *specs.Process) (Process, error) {
	if p == nil {
		return Process{}, fmt.Errorf("spec has no process")
	}
	lp := Process{
		Args:            p.Args,
		Env:             p.Env,
		UID:             int(p.User.UID),
		GID:             int(p.User.GID),
		Cwd:             p.Cwd,
		NoNewPrivileges: p.NoNewPrivileges,
		Label:           p.SelinuxLabel,
		AppArmorProfile: p.ApparmorProfile,
	}
	for _, g := range p.User.AdditionalGids {
		lp.AdditionalGroups = append(lp.AdditionalGroups, int(g))
	}
	if c := p.Capabilities; c != nil {
		lp.Capabilities = &configs.Capabilities{
			Bounding: c.Bounding, Effective: c.Effective, Inheritable: c.Inheritable,
			Permitted: c.Permitted, Ambient: c.Ambient,
		}
	}
	for _, r := range p.Rlimits {
		t, ok := rlimitTypes[strings.ToUpper(r.Type)]
		if !ok {
			return Process{}, fmt.Errorf("unknown rlimit %q", r.Type)
		}
		lp.Rlimits = append(lp.Rlimits, configs.Rlimit{Type: t, Hard: r.Hard, Soft: r.Soft})
	}
	if p.ConsoleSize != nil {
		lp.ConsoleWidth, lp.ConsoleHeight = uint16(p.ConsoleSize.Width), uint16(p.ConsoleSize.Height)
	}
	return lp, nil
}

// InitLogLevel is the level libcontainer's init processes log at, in logrus's numbering as runc
// passes its own: warnings and errors. Unset, nsexec's C stages log at DEBUG, a JSON line per
// step that the parent decodes and then drops.
var InitLogLevel = strconv.Itoa(int(logrus.WarnLevel))

// Libcontainer is the process to start, without stdio. init marks the container's first
// process (create/start); false is an exec.
func (p *Process) Libcontainer(init bool) *libcontainer.Process {
	nnp := p.NoNewPrivileges
	return &libcontainer.Process{
		Args: p.Args, Env: p.Env, UID: p.UID, GID: p.GID, AdditionalGroups: p.AdditionalGroups,
		Cwd: p.Cwd, NoNewPrivileges: &nnp, Init: init, Label: p.Label, AppArmorProfile: p.AppArmorProfile,
		Capabilities: p.Capabilities, Rlimits: p.Rlimits,
		ConsoleWidth: p.ConsoleWidth, ConsoleHeight: p.ConsoleHeight, LogLevel: InitLogLevel,
	}
}
