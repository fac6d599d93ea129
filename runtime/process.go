package runtime

import (
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/specconv"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/podrun/podrun/internal/atomicfile"
	"github.com/podrun/podrun/runner"
)

// newProcess converts spec.Process, which specconv leaves alone, into a libcontainer process.
// init marks the container's first process (CRI create/start); false is an exec.
func newProcess(p *specs.Process, init bool) (*libcontainer.Process, error) {
	lp, err := runner.ProcessFromSpec(p)
	if err != nil {
		return nil, err
	}
	return lp.Libcontainer(init), nil
}

// encodeLaunch converts the spec of the bundle in dir for container (or sandbox) id into the
// launch spec the monitor passes to its helper as it is.
func encodeLaunch(id, dir string, spec *specs.Spec) (json.RawMessage, error) {
	if spec.Process == nil || spec.Linux == nil {
		return nil, fmt.Errorf("spec of %s has no process or no linux section", id)
	}
	cfg, err := libcontainerConfig(id, dir, spec)
	if err != nil {
		return nil, err
	}
	p, err := runner.ProcessFromSpec(spec.Process)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(&runner.LaunchSpec{Config: cfg, Process: p})
	if err != nil {
		return nil, fmt.Errorf("encode launch spec: %w", err)
	}
	return b, nil
}

// libcontainerConfig converts a bundle's spec. specconv resolves relative paths against the
// process's cwd, so the rootfs is made absolute against the bundle first.
func libcontainerConfig(id, bundle string, spec *specs.Spec) (*configs.Config, error) {
	if spec.Root == nil {
		return nil, fmt.Errorf("spec has no root")
	}
	if !filepath.IsAbs(spec.Root.Path) {
		spec.Root.Path = filepath.Join(bundle, spec.Root.Path)
	}
	cfg, err := specconv.CreateLibcontainerConfig(&specconv.CreateOpts{
		CgroupName: id,
		Spec:       spec,
	})
	if err != nil {
		return nil, fmt.Errorf("convert spec: %w", err)
	}
	return cfg, nil
}

// readSpec reads a bundle's config.json.
func readSpec(bundle string) (*specs.Spec, error) {
	var s specs.Spec
	if err := atomicfile.ReadJSON(filepath.Join(bundle, "config.json"), &s); err != nil {
		return nil, err
	}
	return &s, nil
}
