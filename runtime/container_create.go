package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/podrun/podrun/cri"
	"github.com/podrun/podrun/internal/atomicfile"
	"github.com/podrun/podrun/monitor"
)

// CreateContainer mounts the rootfs, writes the bundle and asks the sandbox's monitor to create
// the container (its init then waits for StartContainer). Nothing is left on failure. A
// *ConfigError from the spec (runAsNonRoot violated…) is returned wrapped: errors.As finds it.
func (r *Runtime) CreateContainer(ctx context.Context, sandboxID string, cfg *cri.ContainerConfig) (_ string, retErr error) {
	if cfg == nil || cfg.Container == nil || cfg.Pod == nil {
		return "", errors.New("create container: config, pod and container required")
	}
	sb, err := r.PodSandboxStatus(ctx, sandboxID)
	if err != nil {
		return "", fmt.Errorf("create container %s: %w", cfg.Container.Name, err)
	}
	if sb.State != cri.SandboxReady {
		return "", fmt.Errorf("create container %s: sandbox %s is not ready", cfg.Container.Name, sandboxID)
	}
	if r.cfg.Rootfs == nil {
		return "", fmt.Errorf("create container %s: no rootfs provider configured", cfg.Container.Name)
	}
	if cfg.LogPath == "" || !filepath.IsAbs(cfg.LogPath) {
		return "", fmt.Errorf("create container %s: absolute log path required", cfg.Container.Name)
	}
	warmCgroupMoves()
	id, err := newID()
	if err != nil {
		return "", err
	}
	unlock := r.lock(id)
	defer unlock()
	defer func() {
		if retErr != nil {
			if err := r.removeContainer(context.Background(), id); err != nil {
				r.log.Warn("clean up failed container", "container", id, "err", err)
			}
			// The kubelet's own messages (runAsNonRoot…) are shown as they are, unwrapped.
			var ce *ConfigError
			if !errors.As(retErr, &ce) {
				retErr = fmt.Errorf("create container %s: %w", cfg.Container.Name, retErr)
			}
		}
	}()

	dir := r.p.Container(id)
	rootfs := filepath.Join(dir, "rootfs")
	if err := os.MkdirAll(rootfs, 0o755); err != nil {
		return "", err
	}
	rec := containerRecord{
		ID: id, SandboxID: sandboxID, Name: cfg.Container.Name, Attempt: cfg.Attempt,
		CreatedAt: time.Now().UTC(), Image: cfg.Container.Image, LogPath: cfg.LogPath,
		CgroupsPath: sb.CgroupParent + "/" + id, Rootfs: rootfs,
		TTY: cfg.Container.TTY, Stdin: cfg.Container.Stdin,
	}
	if cfg.Image != nil {
		rec.ImageID = cfg.Image.ID
		if len(cfg.Image.RepoTags) > 0 && rec.Image == "" {
			rec.Image = cfg.Image.RepoTags[0]
		}
	}
	// container.json first: it is how removeContainer finds the rootfs to unmount.
	if err := atomicfile.WriteJSON(filepath.Join(dir, "container.json"), rec); err != nil {
		return "", err
	}
	imageID := ""
	if cfg.Image != nil {
		imageID = cfg.Image.ID
	}
	if err := r.cfg.Rootfs.MountRootfs(ctx, imageID, r.p.Snapshot(id), rootfs); err != nil {
		return "", fmt.Errorf("mount rootfs: %w", err)
	}
	spec, err := BuildContainerSpec(&SpecInput{
		Config:         cfg,
		Sandbox:        sb,
		Rootfs:         rootfs,
		CgroupsPath:    rec.CgroupsPath,
		OOMScoreAdjMin: r.host.oomScoreAdj,
		SeccompDefault: r.cfg.SeccompDefault,
		// The kubelet reads Localhost seccomp profiles from <root-dir>/seccomp.
		SeccompProfileRoot:   r.seccompProfileRoot(),
		AllowedUnsafeSysctls: r.cfg.AllowedUnsafeSysctls,
		MemoryCapacity:       r.host.memTotal,
		PidsLimit:            r.cfg.PidsLimit,
		HostCapabilities:     r.host.capabilities,
		NodeHostname:         r.host.hostname,
		AppArmorEnabled:      r.host.appArmor,
		SELinuxEnabled:       r.host.seLinux,
	})
	if err != nil {
		return "", err
	}
	if spec.Annotations != nil && spec.Annotations[PrivilegedAnnotation] == "true" {
		if err := addHostDevices(spec); err != nil {
			return "", err
		}
	}
	rec.StopSignal = stopSignal(cfg, spec.Annotations)
	if err := atomicfile.WriteJSON(filepath.Join(dir, "config.json"), spec); err != nil {
		return "", err
	}
	if err := atomicfile.WriteJSON(filepath.Join(dir, "container.json"), rec); err != nil {
		return "", err
	}
	launch, err := encodeLaunch(id, dir, spec)
	if err != nil {
		return "", fmt.Errorf("create container %s: %w", id, err)
	}
	req := monitor.CreateRequest{ID: id, LogPath: cfg.LogPath, TTY: spec.Process != nil && spec.Process.Terminal, Stdin: cfg.Container.Stdin, Launch: launch}
	// The create runs to its end even when ctx ends (a delete racing the pod's start): cut
	// short, the monitor's helper would go on making the container while the cleanup below
	// already ran, and its libcontainer state would be left behind. A caller that gave up
	// still gets the error, and the cleanup then destroys a whole container.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), monitorCreateTimeout)
	defer cancel()
	if err := r.monitor(sandboxID).call(cctx, "create", req, &monitor.CreateResponse{}); err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	return id, nil
}

// monitorCreateTimeout bounds a container create that its caller may have given up on.
const monitorCreateTimeout = time.Minute

// seccompProfileRoot is where Localhost seccomp profiles are read: the configured directory,
// else <root>/seccomp as the kubelet's <root-dir>/seccomp.
func (r *Runtime) seccompProfileRoot() string {
	if r.cfg.SeccompProfileRoot != "" {
		return r.cfg.SeccompProfileRoot
	}
	return filepath.Join(r.cfg.RootDir, "seccomp")
}

// ownOOMScoreAdj is the daemon's oom_score_adj: containers may not be less killable than it.
func ownOOMScoreAdj() int {
	b, err := os.ReadFile("/proc/self/oom_score_adj")
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

// stopSignalAnnotation is the OCI image annotation for the image's STOPSIGNAL.
const stopSignalAnnotation = "org.opencontainers.image.stopSignal"

// stopSignal picks the container's stop signal: lifecycle.stopSignal, then the image's
// STOPSIGNAL (config or annotation), else SIGTERM.
func stopSignal(cfg *cri.ContainerConfig, annotations map[string]string) string {
	if c := cfg.Container; c != nil && c.Lifecycle != nil && c.Lifecycle.StopSignal != nil && *c.Lifecycle.StopSignal != "" {
		return string(*c.Lifecycle.StopSignal)
	}
	if cfg.Image != nil && cfg.Image.Config.StopSignal != "" {
		return cfg.Image.Config.StopSignal
	}
	if s := annotations[stopSignalAnnotation]; s != "" {
		return s
	}
	return "SIGTERM"
}

// parseSignal accepts "SIGTERM", "TERM", "term" or "15".
func parseSignal(s string) (unix.Signal, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(s); err == nil && n > 0 && n < 65 {
		return unix.Signal(n), nil
	}
	u := strings.ToUpper(s)
	if !strings.HasPrefix(u, "SIG") {
		u = "SIG" + u
	}
	if sig := unix.SignalNum(u); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown signal %q", s)
}
