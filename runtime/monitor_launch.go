package runtime

import (
	"encoding/json"
	"fmt"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// launchSpec is a bundle's OCI spec converted by the daemon into what the monitor needs to
// start the bundle's init: libcontainer's config and process. The daemon sends it in
// monitor.json (the pause) and in the create request (containers). Why: encoding/json keeps,
// for the life of a process, the field tables of every struct type it has decoded or encoded.
// libcontainer encodes its config to every container's init anyway, so decoding that config
// costs the monitor nothing more, while decoding the OCI spec kept a second set of tables
// (~150 KiB, spread over many allocation size classes) in every monitor.
type launchSpec struct {
	Config      *configs.Config `json:"config"`
	Process     launchProcess   `json:"process"`
	Terminal    bool            `json:"terminal,omitempty"`
	CgroupsPath string          `json:"cgroupsPath"`

	raw json.RawMessage // the encoded spec, as sent to the monitor (marshal)
}

// marshal encodes the spec into ls.raw, which the monitor passes to its helper as it is.
func (ls *launchSpec) marshal() error {
	b, err := json.Marshal(ls)
	if err != nil {
		return fmt.Errorf("encode launch spec: %w", err)
	}
	ls.raw = b
	return nil
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
	ls := &launchSpec{Config: cfg, Terminal: spec.Process.Terminal, CgroupsPath: spec.Linux.CgroupsPath,
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

// loadLaunch returns ls, or converts the bundle's config.json when the daemon sent none (a
// daemon older than launchSpec).
func loadLaunch(ls *launchSpec, id, dir string) (*launchSpec, error) {
	if ls != nil && ls.Config != nil {
		return ls, nil
	}
	spec, err := readSpec(dir)
	if err != nil {
		return nil, fmt.Errorf("read spec: %w", err)
	}
	return newLaunchSpec(id, dir, spec)
}
