package runtime

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"
	v1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/cri"
	"github.com/podrun/podrun/network"
	"github.com/podrun/podrun/runner"
)

// Rootfs is the part of the image store the runtime needs: overlay root filesystems.
type Rootfs interface {
	MountRootfs(ctx context.Context, imageID, snapshotDir, target string) error
	UnmountRootfs(target, snapshotDir string) error
}

// Config configures the runtime.
type Config struct {
	// StateDir is the daemon's --state (default /run/podrun): libcontainer state, sandbox and
	// container bundles, pinned namespaces, monitor sockets.
	StateDir string
	// RootDir is the daemon's --root (default /var/lib/podrun): overlay upper/work dirs.
	RootDir string
	// CgroupRoot is the cgroup under which every pod cgroup is made (default "podrun").
	CgroupRoot string
	Rootfs     Rootfs
	// SeccompDefault applies the RuntimeDefault seccomp profile to containers that name none
	// (the kubelet's --seccomp-default).
	SeccompDefault bool
	Logger         *slog.Logger
	// AllowedUnsafeSysctls are the kubelet's --allowed-unsafe-sysctls patterns ("net.core.*").
	AllowedUnsafeSysctls []string
	// SeccompProfileRoot is the directory of Localhost seccomp profiles (the kubelet's
	// <root-dir>/seccomp); "" = RootDir/seccomp.
	SeccompProfileRoot string
	// PidsLimit is the pids limit of each container's cgroup (the kubelet's --pod-max-pids);
	// 0 = none.
	PidsLimit int64
	// Network gives each sandbox its pod network (veth, address, hostPorts) in RunPodSandbox
	// and takes it back in RemovePodSandbox; *network.Manager implements it. nil: pods have
	// only their loopback (and SandboxStatus.IP stays "").
	Network Network
	// Binary is the static podrun binary that is bind-mounted into the pause as /pause, and
	// the monitors' helper and the exec server when podrun-runner is not beside it; "" = this
	// process's own executable (the daemon). Tests set it.
	Binary string
}

// Network is the part of package network the sandbox lifecycle needs.
type Network interface {
	// Setup configures the namespace pinned at netnsPath ("" with hostNetwork) for the pod.
	Setup(ctx context.Context, sandboxID, netnsPath string, pod *v1.Pod) (*network.Result, error)
	// Teardown is idempotent and works when the namespace is gone.
	Teardown(ctx context.Context, sandboxID, netnsPath string) error
}

// Runtime implements cri.RuntimeService with libcontainer, one monitor process per sandbox.
// It keeps no state in memory that matters: everything is read back from StateDir, so a
// restarted daemon (a new Runtime on the same StateDir) carries on.
type Runtime struct {
	cfg    Config
	p      paths
	log    *slog.Logger
	binary string
	// monitorBin is started as each pod's monitor: podrun-monitor beside binary when there
	// is one (small: a monitor lives as long as its pod), else binary itself.
	monitorBin string
	// runnerBin does the libcontainer work outside the daemon (package runner): podrun-runner
	// beside binary when there is one (its container inits are small), else binary itself.
	runnerBin string
	// launchBin is podrun-launch beside binary, "" without it: it starts a pod's monitor and
	// the helper that makes the pause at once (see cmd/podrun-launch).
	launchBin string
	// execs runs every exec (package runner's exec server, started on the first).
	execs *runner.ExecServer
	// execProcs caches each container's exec process template (id → *runner.Process).
	execProcs sync.Map
	host      hostFacts

	locks sync.Map // id → *sync.Mutex: serialises mutations of one sandbox or container
}

var _ cri.RuntimeService = (*Runtime)(nil)

// New checks the configuration and makes the state directories.
func New(cfg Config) (*Runtime, error) {
	if cfg.StateDir == "" {
		cfg.StateDir = "/run/podrun"
	}
	if cfg.RootDir == "" {
		cfg.RootDir = "/var/lib/podrun"
	}
	if cfg.CgroupRoot == "" {
		cfg.CgroupRoot = "podrun"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	var err error
	// specconv and the monitor need absolute paths (specconv resolves against the cwd).
	if cfg.StateDir, err = filepath.Abs(cfg.StateDir); err != nil {
		return nil, fmt.Errorf("runtime: state dir: %w", err)
	}
	if cfg.RootDir, err = filepath.Abs(cfg.RootDir); err != nil {
		return nil, fmt.Errorf("runtime: root dir: %w", err)
	}
	bin := cfg.Binary
	if bin == "" {
		if bin, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("runtime: own executable: %w", err)
		}
	}
	if bin, err = filepath.EvalSymlinks(bin); err != nil {
		return nil, fmt.Errorf("runtime: binary: %w", err)
	}
	beside := func(name string) string {
		if b := filepath.Join(filepath.Dir(bin), name); unix.Access(b, unix.X_OK) == nil {
			return b
		}
		return bin
	}
	r := &Runtime{cfg: cfg, p: paths{State: cfg.StateDir, Root: cfg.RootDir}, log: cfg.Logger,
		binary: bin, monitorBin: beside("podrun-monitor"), runnerBin: beside("podrun-runner"), launchBin: beside("podrun-launch"),
		host: readHostFacts()}
	if r.launchBin == bin {
		r.launchBin = ""
	}
	serve := []string{r.runnerBin, "serve", "--state", r.p.State}
	if r.runnerBin == bin {
		serve = []string{bin, "runner", "serve", "--state", r.p.State}
	}
	r.execs = runner.NewExecServer(serve, execServerEnv(), os.Stderr)
	for _, d := range []string{r.p.Runc(), r.p.SandboxesDir(), r.p.ContainersDir(), filepath.Join(cfg.StateDir, "netns"), filepath.Join(cfg.StateDir, "ns"), filepath.Join(cfg.RootDir, "snapshots")} {
		if err := os.MkdirAll(d, 0o711); err != nil {
			return nil, fmt.Errorf("runtime: %w", err)
		}
	}
	return r, nil
}

// Close stops what the runtime runs for itself (the exec server). Pods and their monitors
// are not touched: they outlive the daemon.
func (r *Runtime) Close() {
	r.execs.Close()
}

// lock serialises mutations of one object (sandbox or container) by id.
func (r *Runtime) lock(id string) func() {
	v, _ := r.locks.LoadOrStore(id, &sync.Mutex{})
	mu := v.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}

// monitor returns the client of a sandbox's monitor.
func (r *Runtime) monitor(sandboxID string) *monitorClient {
	return newMonitorClient(r.p.SandboxFile(sandboxID, "monitor.sock"))
}
