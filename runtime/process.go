package runtime

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/specconv"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/podrun/podrun/internal/atomicfile"
)

// rlimitTypes maps OCI rlimit names to their resource numbers.
var rlimitTypes = map[string]int{
	"RLIMIT_AS": unix.RLIMIT_AS, "RLIMIT_CORE": unix.RLIMIT_CORE, "RLIMIT_CPU": unix.RLIMIT_CPU,
	"RLIMIT_DATA": unix.RLIMIT_DATA, "RLIMIT_FSIZE": unix.RLIMIT_FSIZE, "RLIMIT_LOCKS": unix.RLIMIT_LOCKS,
	"RLIMIT_MEMLOCK": unix.RLIMIT_MEMLOCK, "RLIMIT_MSGQUEUE": unix.RLIMIT_MSGQUEUE,
	"RLIMIT_NICE": unix.RLIMIT_NICE, "RLIMIT_NOFILE": unix.RLIMIT_NOFILE, "RLIMIT_NPROC": unix.RLIMIT_NPROC,
	"RLIMIT_RSS": unix.RLIMIT_RSS, "RLIMIT_RTPRIO": unix.RLIMIT_RTPRIO, "RLIMIT_RTTIME": unix.RLIMIT_RTTIME,
	"RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING, "RLIMIT_STACK": unix.RLIMIT_STACK,
}

// newProcess converts spec.Process, which specconv leaves alone, into a libcontainer process.
// init marks the container's first process (CRI create/start); false is an exec.
func newProcess(p *specs.Process, init bool) (*libcontainer.Process, error) {
	if p == nil {
		return nil, fmt.Errorf("spec has no process")
	}
	nnp := p.NoNewPrivileges
	lp := &libcontainer.Process{
		Args:            p.Args,
		Env:             p.Env,
		UID:             int(p.User.UID),
		GID:             int(p.User.GID),
		Cwd:             p.Cwd,
		NoNewPrivileges: &nnp,
		Init:            init,
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
			return nil, fmt.Errorf("unknown rlimit %q", r.Type)
		}
		lp.Rlimits = append(lp.Rlimits, configs.Rlimit{Type: t, Hard: r.Hard, Soft: r.Soft})
	}
	if p.ConsoleSize != nil {
		lp.ConsoleWidth, lp.ConsoleHeight = uint16(p.ConsoleSize.Width), uint16(p.ConsoleSize.Height)
	}
	return lp, nil
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

// devNull opens /dev/null for a process's unused stdio.
func devNull(flag int) (*os.File, error) { return os.OpenFile(os.DevNull, flag, 0) }
