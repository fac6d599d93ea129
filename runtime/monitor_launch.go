package runtime

import (
	"encoding/json"
	"fmt"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// launchSpec is a bundle's OCI spec converted by the daemon into what libcontainer's create
// needs: its config and the init process. The daemon sends it, encoded, in monitor.json (the
// pause) and in the create request (containers); the monitor hands the bytes to its helper
// (`podrun monitor helper create`), which decodes them: the conversion happens once, in the
// daemon, and the monitor never decodes either spec.
type launchSpec struct {
	Config  *configs.Config `json:"config"`
	Process launchProcess   `json:"process"`
}

// encodeLaunch converts the spec (see newLaunchSpec) and encodes it for the monitor, which
// passes it to its helper as it is.
func encodeLaunch(id, dir string, spec *specs.Spec) (json.RawMessage, error) {
	ls, err := newLaunchSpec(id, dir, spec)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(ls)
	if err != nil {
		return nil, fmt.Errorf("encode launch spec: %w", err)
	}
	return b, nil
}

// launchProcess is libcontainer.Process without its stdio and runtime handles.
type launchProcess struct {
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

// newLaunchSpec converts the spec of the bundle in dir for container (or sandbox) id.
func newLaunchSpec(id, dir string, spec *specs.Spec) (*launchSpec, error) {
	if spec.Process == nil || spec.Linux == nil {
		return nil, fmt.Errorf("spec of %s has no process or no linux section", id)
	}
	cfg, err := libcontainerConfig(id, dir, spec)
	if err != nil {
		return nil, err
	}
	p, err := newProcess(spec.Process, true)
	if err != nil {
		return nil, err
	}
	ls := &launchSpec{Config: cfg,
		Process: launchProcess{
			Args: p.Args, Env: p.Env, UID: p.UID, GID: p.GID, AdditionalGroups: p.AdditionalGroups,
			Cwd: p.Cwd, Label: p.Label, AppArmorProfile: p.AppArmorProfile,
			Capabilities: p.Capabilities, Rlimits: p.Rlimits,
			ConsoleWidth: p.ConsoleWidth, ConsoleHeight: p.ConsoleHeight,
		}}
	if p.NoNewPrivileges != nil {
		ls.Process.NoNewPrivileges = *p.NoNewPrivileges
	}
	return ls, nil
}

// process is the init process to start, without stdio.
func (ls *launchSpec) process() *libcontainer.Process {
	p := ls.Process
	nnp := p.NoNewPrivileges
	return &libcontainer.Process{
		Args: p.Args, Env: p.Env, UID: p.UID, GID: p.GID, AdditionalGroups: p.AdditionalGroups,
		Cwd: p.Cwd, NoNewPrivileges: &nnp, Init: true, Label: p.Label, AppArmorProfile: p.AppArmorProfile,
		Capabilities: p.Capabilities, Rlimits: p.Rlimits,
		ConsoleWidth: p.ConsoleWidth, ConsoleHeight: p.ConsoleHeight,
	}
}
