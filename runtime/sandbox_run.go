package runtime

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/podrun/podrun/cri"
	"github.com/podrun/podrun/internal/atomicfile"
	"github.com/podrun/podrun/internal/layout"
	"github.com/podrun/podrun/monitor"
	"github.com/podrun/podrun/monitor/helperproto"
	"github.com/podrun/podrun/sandbox"
	"github.com/podrun/podrun/sandbox/nsfs"
	"github.com/podrun/podrun/sandbox/pauseproc"
)

// readyTimeout bounds how long RunPodSandbox waits for the monitor to report.
const readyTimeout = 10 * time.Second

// RunPodSandbox makes the pod's namespaces, files and the pause's root, starts the pod's
// monitor (which starts the pause and writes sandbox.json) and waits for it to be ready. On
// any failure everything made so far is removed.
func (r *Runtime) RunPodSandbox(ctx context.Context, cfg *cri.SandboxConfig) (_ *cri.SandboxStatus, retErr error) {
	if cfg == nil || cfg.Pod == nil || cfg.Pod.UID == "" {
		return nil, errors.New("run sandbox: pod with a uid required")
	}
	pod := cfg.Pod
	warmCgroupMoves()
	id, err := newID()
	if err != nil {
		return nil, err
	}
	unlock := r.lock(id)
	defer unlock()
	defer func() {
		if retErr != nil {
			if err := r.removeSandbox(context.Background(), id); err != nil {
				r.log.Warn("clean up failed sandbox", "sandbox", id, "err", err)
			}
			retErr = fmt.Errorf("run sandbox for pod %s/%s: %w", pod.Namespace, pod.Name, retErr)
		}
	}()

	dir := r.p.Sandbox(id)
	// The pause's root: an empty dev and the mount point of its binary (see pauseproc).
	rootfs := filepath.Join(dir, "rootfs")
	if err := os.MkdirAll(filepath.Join(rootfs, sandbox.PauseDevDir), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(rootfs, sandbox.PauseBinaryFile), nil, 0o644); err != nil {
		return nil, err
	}
	if cfg.LogDirectory != "" {
		// The containers' log dirs go below it; it outlives the sandbox (the pod manager
		// removes it with the pod).
		if err := os.MkdirAll(cfg.LogDirectory, 0o755); err != nil {
			return nil, err
		}
	}
	if err := atomicfile.WriteJSON(filepath.Join(dir, "pod.json"), pod); err != nil {
		return nil, err
	}
	hostname, err := sandbox.PodHostname(pod)
	if err != nil {
		return nil, err
	}
	// The pod's network, IPC and UTS namespaces are made here, with its hostname and sysctls
	// set inside them (as CRI-O's pinns does), so that the network is set up while the
	// monitor starts the pause, which joins them (as containerd makes the netns before the
	// sandbox container). removeSandbox unpins them on failure.
	sysctls, err := sandbox.PodSysctls(pod)
	if err != nil {
		return nil, err
	}
	pins := nsfs.PodNamespaces{Hostname: hostname, Sysctls: sysctls}
	if !pod.Spec.HostNetwork {
		pins.Net, pins.UTS = r.p.Netns(id), filepath.Join(r.p.NsDir(id), "uts")
	}
	if !pod.Spec.HostIPC {
		pins.IPC = filepath.Join(r.p.NsDir(id), "ipc")
	}
	if err := nsfs.NewPodNamespaces(pins); err != nil {
		return nil, err
	}
	netns := pins.Net
	podCgroup := r.podCgroup(string(pod.UID))
	mcfg := monitor.Config{
		NetnsPath: netns, IPCPath: pins.IPC, UTSPath: pins.UTS, LoopbackUp: netns != "" && r.cfg.Network == nil, Helper: r.runnerBin, PodUID: string(pod.UID), Hostname: hostname, CgroupParent: podCgroup,
		HostNetwork: pod.Spec.HostNetwork, HostIPC: pod.Spec.HostIPC,
		SharePID: pod.Spec.ShareProcessNamespace != nil && *pod.Spec.ShareProcessNamespace && !pod.Spec.HostPID,
		Pause: pauseproc.Config{Binary: r.binary, Rootfs: rootfs, UID: sandbox.PauseUID,
			// The pause may not be less killable than the daemon (no CAP_SYS_RESOURCE needed).
			OOMScoreAdj: max(sandbox.PauseOOMScoreAdj, r.host.oomScoreAdj)},
	}
	if mcfg.HostnamePath, mcfg.HostsPath, mcfg.ResolvConfPath, err = sandbox.WriteFiles(dir, pod, hostname, ""); err != nil {
		return nil, err
	}
	if err := atomicfile.WriteJSON(filepath.Join(dir, "monitor.json"), mcfg); err != nil {
		return nil, err
	}
	// The network is set up from now on, while the monitor starts the pause. Its result is
	// awaited on every path, so that a failed sandbox is removed only after it.
	var netDone chan error
	defer func() {
		if netDone != nil {
			if err := <-netDone; err != nil && retErr == nil {
				retErr = err
			}
		}
	}()
	if netns != "" {
		nst := &cri.SandboxStatus{ID: id, Namespaces: map[string]string{"net": netns},
			Hostname: hostname, HostsPath: mcfg.HostsPath}
		netDone = make(chan error, 1)
		go func() { netDone <- r.setupNetwork(ctx, nst, pod) }()
	}
	// The monitor says "netns" once all the pod's namespaces exist (at its start, unless the
	// pause makes the pid namespace): the first container's move into its cgroup comes next,
	// its grace period from now.
	early := func() { warmCgroupMoves() }
	if err := r.spawnMonitor(ctx, id, early); err != nil {
		return nil, err
	}
	if netDone != nil {
		err := <-netDone
		netDone = nil
		if err != nil {
			return nil, err
		}
	}
	st, err := r.PodSandboxStatus(ctx, id)
	if err != nil {
		return nil, err
	}
	if st.IP == "" {
		// hostNetwork: no namespace of its own, the host's address.
		if err := r.setupNetwork(ctx, st, pod); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// podCgroup is the pod's cgroup below the hierarchy roots: "/<cgroup root>/pod<uid>".
func (r *Runtime) podCgroup(uid string) string {
	return "/" + strings.Trim(r.cfg.CgroupRoot, "/") + "/pod" + uid
}

// spawnMonitor starts `podrun monitor` in its own session with stdio on /dev/null and
// monitor.log, and reads its verdict from the pipe on its fd 3. The daemon only reaps it
// (in a goroutine) and never holds anything of the pod's. netnsPinned is called (in this
// goroutine) when the monitor reports the pod's namespaces there, before its verdict.
func (r *Runtime) spawnMonitor(ctx context.Context, id string, netnsPinned func()) error {
	dir := r.p.Sandbox(id)
	logf, err := os.OpenFile(filepath.Join(dir, "monitor.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("monitor log: %w", err)
	}
	defer logf.Close()
	rd, wr, err := os.Pipe()
	if err != nil {
		return err
	}
	defer rd.Close()
	cmd := exec.Command(r.monitorBin, "monitor", "--state", r.p.State, "--sandbox", id)
	if r.launchBin != "" {
		// The monitor and the helper that makes the pod's first container start side by side,
		// the helper as the monitor's child.
		args := append([]string{os.DevNull, r.runnerBin}, helperproto.Args(helperproto.NextOp, r.p.State, id)...)
		args = append(append(args, "--"), cmd.Args...)
		cmd = exec.Command(r.launchBin, args...)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{wr} // fd 3
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Env = monitorEnv()
	err = cmd.Start()
	wr.Close()
	if err != nil {
		return fmt.Errorf("start monitor: %w", err)
	}
	go cmd.Wait() //nolint:errcheck // only reaps: the monitor outlives any wait here

	type verdict struct {
		line string
		err  error
	}
	// Progress lines ("netns") come before the verdict ("ok" or "error: …").
	ch := make(chan verdict, 2)
	go func() {
		br := bufio.NewReader(rd)
		for {
			line, err := br.ReadString('\n')
			line = strings.TrimSpace(line)
			ch <- verdict{line, err}
			if err != nil || line != monitor.NetnsPinned {
				return
			}
		}
	}()
	timer := time.NewTimer(readyTimeout)
	defer timer.Stop()
	var v verdict
	for wait := true; wait; {
		select {
		case v = <-ch:
			wait = v.err == nil && v.line == monitor.NetnsPinned
			if wait && netnsPinned != nil {
				netnsPinned()
			}
		case <-timer.C:
			v = verdict{err: errors.New("monitor not ready after " + readyTimeout.String())}
			wait = false
		case <-ctx.Done():
			v = verdict{err: ctx.Err()}
			wait = false
		}
	}
	if v.err == nil && v.line == "ok" {
		return nil
	}
	// Failed: the monitor undid its own work if it could report; make sure it is gone.
	cmd.Process.Kill() //nolint:errcheck // we started it; it may have exited already
	switch {
	case v.err != nil && v.line == "":
		return fmt.Errorf("monitor: %w%s", v.err, monitorLogTail(dir))
	default:
		return fmt.Errorf("monitor: %s", strings.TrimPrefix(v.line, "error: "))
	}
}

// monitorEnv is the daemon's environment for a small monitor, with the Go runtime knobs set
// from its first allocation on: no heap profiling (its bucket table alone touches about
// 1 MiB), one P, an eager GC. MALLOC_ARENA_MAX=1: the static glibc would give every thread
// that mallocs (cgo thread starts do) an arena of its own. podrun-monitor has no cgo;
// `podrun monitor` (when it is missing) and the helpers, which inherit this environment, do.
func monitorEnv() []string {
	return childEnv("GODEBUG=memprofilerate=0", "GOMAXPROCS=1", "GOGC=20", "MALLOC_ARENA_MAX=1")
}

// execServerEnv is the daemon's environment for its exec server, with GOMAXPROCS=1: for the
// server and, since libcontainer hands its GOMAXPROCS on, for the init of every exec. Measured
// with 50 containers exec-probed every second (make bench, four runs of each, alternated): CPU
// per probe, all processes, 10.5, 10.9, 10.6, 11.4 ms against 11.9, 12.7, 11.9, 12.4 ms with
// the default (2 here); daemon and server 16.0, 17.3, 16.7, 17.9 % of a core against 19.8,
// 20.4, 19.3, 20.3 %. An exec is a chain of blocking steps: a second P only adds threads
// waking each other.
func execServerEnv() []string { return childEnv("GOMAXPROCS=1") }

// childEnv is the daemon's environment without libcontainer's private variables, with set
// ("KEY=value") replacing any value of those keys.
func childEnv(set ...string) []string {
	env := slices.Clone(set)
	for _, e := range os.Environ() {
		if strings.HasPrefix(e, "_LIBCONTAINER_") || slices.ContainsFunc(set, func(kv string) bool {
			k, _, _ := strings.Cut(kv, "=")
			return strings.HasPrefix(e, k+"=")
		}) {
			continue
		}
		env = append(env, e)
	}
	return env
}

func monitorLogTail(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, "monitor.log"))
	if err != nil || len(b) == 0 {
		return ""
	}
	if len(b) > 1024 {
		b = b[len(b)-1024:]
	}
	return " (monitor.log: " + strings.TrimSpace(string(b)) + ")"
}

// readSandbox reads sandbox.json; a sandbox whose monitor never got ready has only pod.json
// and is reported NotReady.
func (r *Runtime) readSandbox(id string) (*cri.SandboxStatus, error) {
	if !layout.ValidID(id) {
		return nil, notFound("sandbox", id)
	}
	var st cri.SandboxStatus
	err := atomicfile.ReadJSON(r.p.SandboxFile(id, "sandbox.json"), &st)
	if err == nil {
		var n sandboxNetwork
		if atomicfile.ReadJSON(r.p.SandboxFile(id, "network.json"), &n) == nil {
			st.IP = n.IP
		}
		return &st, nil
	}
	if !isNotExist(err) {
		return nil, err
	}
	if _, serr := os.Stat(r.p.Sandbox(id)); serr != nil {
		return nil, notFound("sandbox", id)
	}
	st = cri.SandboxStatus{ID: id, State: cri.SandboxNotReady}
	var pod struct {
		Metadata struct {
			UID string `json:"uid"`
		} `json:"metadata"`
	}
	if b, err := os.ReadFile(r.p.SandboxFile(id, "pod.json")); err == nil && json.Unmarshal(b, &pod) == nil {
		st.PodUID = pod.Metadata.UID
		st.CgroupParent = r.podCgroup(st.PodUID)
	}
	return &st, nil
}
