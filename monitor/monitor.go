// Package monitor is the per-pod monitor: `podrun-monitor monitor --state DIR --sandbox ID`
// (or `podrun monitor …`, the same code), one per pod, started by RunPodSandbox in its own
// session. It is the parent of the pause and of every container of the pod (and a child
// subreaper), owns their stdio, writes the CRI logs and the exit records, and answers the
// daemon over HTTP+JSON on <sandbox dir>/monitor.sock. It never depends on the daemon: a
// killed daemon leaves it, the pod and its logs running.
package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	goruntime "runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/podrun/podrun/cri/sandboxstate"
	"github.com/podrun/podrun/internal/atomicfile"
	"github.com/podrun/podrun/internal/layout"
	"github.com/podrun/podrun/internal/procstat"
	"github.com/podrun/podrun/monitor/helperproto"
	"github.com/podrun/podrun/sandbox/nsfs"
	"github.com/podrun/podrun/sandbox/pauseproc"
)

// ReadyFD is the pipe on which the monitor tells RunPodSandbox "ok" or "error: …", after
// progress lines (NetnsPinned).
const ReadyFD = 3

// trimDelay is how long after its ready report the monitor collects its setup's garbage and
// returns it to the kernel: after its pod's start (tens of milliseconds here). Collecting at
// once left ≈ 85 KiB more private memory in every monitor (six pods: 1507 – 1520 against
// 1436 – 1437 KiB anonymous PSS per monitor).
const trimDelay = 250 * time.Millisecond

// NetnsPinned is the progress line the monitor writes once every namespace of the pod
// exists (with shareProcessNamespace, once the pause's pid namespace is pinned): the daemon
// then begins the grace period of the first container's cgroup move (runtime's
// warmCgroupMoves).
const NetnsPinned = "netns"

type monitor struct {
	p   layout.Paths
	id  string
	log *slog.Logger

	cfg    Config
	status sandboxstate.Status

	helperPid     int  // the first container's helper, already started by podrun-launch; 0: start it here
	helperAwaited bool // setup got as far as awaiting it

	pauseUp    bool // the pause runs, or ran (knownMu)
	pauseDone  chan struct{}
	pausePidfd int // the pause's pidfd, -1 before it was started (knownMu)
	// pauseSettled is closed once the pause's create is over and pauseUp says how it went
	// (with an early start, after setup: see pauseStarted).
	pauseSettled chan struct{}
	// published is closed after setup, which set setupFailed before: an early pause's
	// outcome is recorded only then.
	published   chan struct{}
	setupFailed bool

	mu   sync.Mutex
	ctrs map[string]*monContainer

	// spawnMu is held while a helper creates a container (its init becomes our child before
	// we know its pid) and while the reaper reaps: the reaper never steals their statuses.
	spawnMu sync.Mutex
	// knownMu guards known and the pause's pid (the reaper holds it too): the pause is started
	// under it alone, not waiting for a container's create.
	knownMu sync.Mutex
	known   map[int]bool // pids waited for by us (pause, inits, helpers)
	next    *nextHelper  // the first container's helper, until the first container takes it (spawnMu)

	cleanups []func() // undo steps of the sandbox setup, in reverse order
	stop     chan struct{}
}

// monContainer is one container owned by the monitor.
type monContainer struct {
	id      string
	pid     int
	log     io.Closer
	stdin   io.Closer // write end kept open for containers with stdin: true
	copiers sync.WaitGroup

	started   time.Time
	done      chan struct{} // closed after exit.json is written
	exit      *ExitRecord
	cgroupMem string // memory cgroup dir, for the OOM counter
	// reapAfter, if not nil, is closed once the helper that made the init is gone (the
	// pause's helper: it may outlive the create by a little).
	reapAfter chan struct{}
}

// Main is the entry point of `podrun-monitor monitor` (and of `podrun monitor`); it returns
// the exit code.
func Main(args []string) int {
	fs := flag.NewFlagSet("monitor", flag.ContinueOnError)
	state := fs.String("state", "/run/podrun", "state dir")
	id := fs.String("sandbox", "", "sandbox id")
	helperPid := fs.Int("helper-pid", 0, "the first container's helper, started by podrun-launch (its stdout, stderr and socket on fds 4, 5, 6)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	// Keep the monitor small: one per pod, 50 pods must cost little. One P avoids idle per-P
	// caches. (Two while the pod starts took the daemon's create request 1.2 – 1.9 ms sooner,
	// traced, but cost every monitor 0.35 MiB of PSS for good: 1.64 → 1.99 MiB per pod at 50
	// pods in make bench.)
	if os.Getenv("GOMAXPROCS") == "" {
		goruntime.GOMAXPROCS(1)
	}
	// No collection while it sets up (its start's garbage is a few MiB at most, and the memory
	// limit still bounds it): one, at the end, returns it all. GC cycles during the setup were
	// 5 % of a monitor's CPU over a pod's start, on CPUs the pod's start keeps busy.
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(16 << 20)

	log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("sandbox", *id)

	ready := os.NewFile(ReadyFD, "ready")
	m := &monitor{
		p: layout.Paths{State: *state}, id: *id, log: log, helperPid: *helperPid,
		ctrs: map[string]*monContainer{}, known: map[int]bool{},
		stop: make(chan struct{}), pauseDone: make(chan struct{}), pausePidfd: -1,
		pauseSettled: make(chan struct{}), published: make(chan struct{}),
	}
	if !layout.ValidID(*id) {
		fmt.Fprintf(ready, "error: invalid sandbox id %q\n", *id)
		return 2
	}
	ln, err := m.setup(ready)
	m.setupFailed = err != nil
	close(m.published)
	if err != nil {
		log.Error("setup failed", "err", err)
		if m.helperPid > 0 && !m.helperAwaited {
			// podrun-launch's helper must not go on making the pause of a failed sandbox.
			unix.Kill(m.helperPid, unix.SIGKILL) //nolint:errcheck // our child: it exists
			reapChild(m.helperPid)               //nolint:errcheck
		}
		m.undo()
		if ready != nil {
			fmt.Fprintf(ready, "error: %v\n", err)
		}
		return 1
	}
	srv := &http.Server{Handler: m.handler(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // ends with the listener
	if ready != nil {
		fmt.Fprintln(ready, "ok")
		ready.Close()
	}
	m.mu.Lock()
	pausePid := m.status.Pid
	m.mu.Unlock()
	log.Info("sandbox ready", "pause", pausePid)
	go m.reaper()
	// The setup's garbage goes once the pod's start is over: the pause and the pod's first
	// container are still being made after our ready, and what they leave would stay in the
	// heap. From then on the heap is tiny, so a low GC target is cheap.
	time.AfterFunc(trimDelay, func() {
		debug.SetGCPercent(20)
		debug.FreeOSMemory()
		var ms goruntime.MemStats
		goruntime.ReadMemStats(&ms)
		log.Info("memory", "heapInuse", ms.HeapInuse, "heapSys", ms.HeapSys, "heapReleased", ms.HeapReleased, "stackInuse", ms.StackInuse, "sys", ms.Sys, "mspan", ms.MSpanSys, "gcSys", ms.GCSys, "other", ms.OtherSys, "goroutines", goruntime.NumGoroutine())
	})
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, unix.SIGTERM, unix.SIGINT)
	select {
	case <-m.stop:
	case s := <-sigs:
		log.Info("signal, shutting down", "signal", s)
		m.shutdown()
	}
	// Let the shutdown answer reach the daemon before the socket goes.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	srv.Shutdown(ctx) //nolint:errcheck
	cancel()
	log.Info("monitor exit")
	return 0
}

// setup makes the pause, pins its namespaces and writes the pod files; every step registers
// its undo in m.cleanups.
func (m *monitor) setup(ready io.Writer) (net.Listener, error) {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return nil, fmt.Errorf("child subreaper: %w", err)
	}
	dir := m.p.Sandbox(m.id)
	// monitor.json, not pod.json: decoding a v1.Pod would cost the monitor ~600 KiB of
	// encoding/json caches for the rest of its life.
	var mcfg Config
	if err := atomicfile.ReadJSON(filepath.Join(dir, "monitor.json"), &mcfg); err != nil {
		return nil, fmt.Errorf("read monitor config: %w", err)
	}
	m.cfg = mcfg
	if m.cfg.Helper == "" {
		return nil, errors.New("monitor.json names no helper binary")
	}
	if !mcfg.HostNetwork && mcfg.NetnsPath == "" {
		return nil, errors.New("monitor.json names no network namespace")
	}
	m.cleanups = append(m.cleanups, m.destroyPause)
	st := sandboxstate.Status{
		ID: m.id, PodUID: mcfg.PodUID, State: sandboxstate.Ready,
		Namespaces:   map[string]string{},
		CgroupParent: mcfg.CgroupParent, Hostname: mcfg.Hostname,
		HostnamePath: mcfg.HostnamePath, HostsPath: mcfg.HostsPath, ResolvConfPath: mcfg.ResolvConfPath,
	}
	// The daemon made and pinned the net, ipc and uts namespaces (the pause joins them); they
	// go with the monitor. Undone in reverse: the pins before their directory.
	m.cleanups = append(m.cleanups, func() { os.Remove(m.p.NsDir(m.id)) })
	for kind, path := range map[string]string{"net": mcfg.NetnsPath, "ipc": mcfg.IPCPath, "uts": mcfg.UTSPath} {
		if path != "" {
			st.Namespaces[kind] = path
			m.cleanups = append(m.cleanups, func() { nsfs.Unpin(path) }) //nolint:errcheck
		}
	}
	// The pid namespace of shareProcessNamespace is pinned, and the daemon told the pod's
	// namespaces exist, once the pause (PID 1 there) runs.
	pin := func(pid int) error {
		if mcfg.SharePID {
			path := filepath.Join(m.p.NsDir(m.id), "pid")
			if err := nsfs.PinNamespace(pid, "pid", path); err != nil {
				return err
			}
			m.cleanups = append(m.cleanups, func() { nsfs.Unpin(path) }) //nolint:errcheck
			st.Namespaces["pid"] = path
		}
		if p, ok := st.Namespaces["net"]; ok {
			fmt.Fprintln(ready, NetnsPinned) //nolint:errcheck // the verdict write reports a dead pipe
			if mcfg.LoopbackUp {
				if err := nsfs.LoopbackUp(p); err != nil {
					return err
				}
			}
		}
		return nil
	}
	// early: every namespace of the pod exists already (the daemon's pins; no pid namespace of
	// the pause's to wait for), so the monitor reports ready, and the pod's first container is
	// made, while the pause is being made (its cgroup join may wait for an RCU grace period on
	// cgroup v1). Until the pause runs, sandbox.json says Starting (and who makes it).
	early := !mcfg.SharePID
	if early {
		if err := pin(0); err != nil {
			return nil, err
		}
	}
	// The helper that makes the pod's first container when asked on a socket, its fd 3
	// (helperproto.NextOp): started by podrun-launch beside us, or here.
	m.spawnMu.Lock()
	next := &nextHelper{gone: make(chan struct{})}
	var hp *helperProc
	var err error
	if m.helperPid > 0 {
		unix.CloseOnExec(6)
		next.sock = os.NewFile(6, "next")
		m.knownMu.Lock()
		m.known[m.helperPid] = true
		m.knownMu.Unlock()
		m.helperAwaited = true
		hp = adoptHelper(m.helperPid)
	} else {
		var helperSock *os.File
		if next.sock, helperSock, err = newSockPair("next", unix.SOCK_SEQPACKET); err == nil {
			hp, err = m.startHelper(helperproto.NextOp, m.id, nil, []*os.File{helperSock}, nil, true)
			helperSock.Close()
		}
	}
	if err == nil {
		m.next = next
		m.cleanups = append(m.cleanups, m.closeNext)
	} else if next.sock != nil {
		next.sock.Close()
	}
	m.spawnMu.Unlock()
	if err != nil {
		// The first container gets a helper of its own, as every other does.
		m.log.Warn("no helper for the first container", "err", err)
	} else {
		go func() {
			if err := m.awaitHelper(hp, helperproto.NextOp, m.id, nil, helperOpts{gone: next.gone}); err != nil {
				m.log.Warn("the first container's helper", "err", err)
			}
		}()
	}
	if early {
		// Undone before the pause's destroy: never while it is being made.
		m.cleanups = append(m.cleanups, func() { <-m.pauseSettled })
		go func() {
			pid, err := m.startPause()
			<-m.published
			m.pauseStarted(pid, err)
		}()
		st.Starting = true
		st.MonitorPid = os.Getpid()
		if _, t, err := procstat.Stat(st.MonitorPid); err == nil {
			st.MonitorStartTime = t
		}
	} else {
		pid, err := m.startPause()
		if err == nil {
			m.knownMu.Lock()
			m.pauseUp = true
			m.knownMu.Unlock()
		}
		close(m.pauseSettled)
		if err == nil {
			err = pin(pid)
		}
		if err != nil {
			return nil, fmt.Errorf("start pause: %w", err)
		}
		st.Pid = pid
		if _, t, err := procstat.Stat(pid); err == nil {
			st.PidStartTime = t
		}
	}
	st.CreatedAt = time.Now().UTC()
	if !mcfg.HostIPC {
		shm := filepath.Join(dir, "shm")
		if err := nsfs.MountShm(shm); err != nil {
			return nil, err
		}
		m.cleanups = append(m.cleanups, func() { nsfs.UnmountShm(shm) }) //nolint:errcheck
		st.ShmPath = shm
	}
	m.mu.Lock()
	m.status = st
	m.mu.Unlock()
	if err := atomicfile.WriteJSON(filepath.Join(dir, "sandbox.json"), st); err != nil {
		return nil, fmt.Errorf("write sandbox.json: %w", err)
	}
	sock := filepath.Join(dir, "monitor.sock")
	os.Remove(sock)
	lpath, done, err := ShortSockPath(sock)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("unix", lpath)
	done()
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", sock, err)
	}
	m.cleanups = append(m.cleanups, func() { ln.Close(); os.Remove(sock) })
	// Whoever can connect can kill the pod's containers: root only.
	if err := os.Chmod(sock, 0o600); err != nil {
		return nil, fmt.Errorf("chmod %s: %w", sock, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "monitor.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return nil, err
	}
	return ln, nil
}

// startPause starts the pause (package pauseproc) and returns its pid once it runs. The pause
// is our child from its start: watchPause reaps it. Its setup makes the pod's infrastructure
// cgroup and moves the pause and us into it (see infraCgroups); a setup in a pid namespace of
// its own cannot name us, and we then move ourselves once the pause runs.
func (m *monitor) startPause() (int, error) {
	c := m.cfg.Pause
	c.Net, c.IPC, c.UTS, c.NewPID = m.cfg.NetnsPath, m.cfg.IPCPath, m.cfg.UTSPath, m.cfg.SharePID
	cgroups, err := infraCgroups(m.cfg.CgroupParent, m.id)
	if err != nil {
		return 0, fmt.Errorf("pause cgroup: %w", err)
	}
	if c.NewPID {
		cgroups.Join = 0
	}
	m.knownMu.Lock()
	p, err := pauseproc.Start(&c, cgroups)
	if err == nil {
		m.known[p.Pid] = true
		// Our unreaped child: the pidfd is the pause's, whatever happens to the pid later.
		if fd, err := unix.PidfdOpen(p.Pid, 0); err == nil {
			m.pausePidfd = fd
		}
	}
	m.knownMu.Unlock()
	if err != nil {
		return 0, err
	}
	go m.watchPause(p.Pid)
	if err := p.Wait(); err != nil {
		return 0, err
	}
	if c.NewPID {
		if err := joinCgroups(cgroups, os.Getpid()); err != nil {
			m.log.Warn("monitor stays in the daemon's cgroup", "err", err)
		}
	}
	return p.Pid, nil
}

// watchPause reaps the pause and, if it was up, marks the sandbox NotReady.
func (m *monitor) watchPause(pid int) {
	reapChild(pid) //nolint:errcheck // the exit status of the pause does not matter
	m.knownMu.Lock()
	delete(m.known, pid)
	up := m.pauseUp
	m.knownMu.Unlock()
	close(m.pauseDone)
	if !up {
		return // its setup failed (startPause's caller says why), or it is being recorded
	}
	m.mu.Lock()
	stopping := m.status.State == sandboxstate.NotReady
	m.status.State = sandboxstate.NotReady
	m.status.Pid = 0
	st := m.status
	m.mu.Unlock()
	if !stopping {
		m.log.Warn("pause exited")
	}
	atomicfile.WriteJSON(m.p.SandboxFile(m.id, "sandbox.json"), st) //nolint:errcheck
}

// killPause SIGKILLs the pause, if it was started, and waits for it to be reaped.
func (m *monitor) killPause() {
	m.knownMu.Lock()
	fd := m.pausePidfd
	m.knownMu.Unlock()
	if fd < 0 {
		return
	}
	unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0) //nolint:errcheck // gone already: fine
	select {
	case <-m.pauseDone:
	case <-time.After(10 * time.Second):
		m.log.Warn("pause not gone 10 s after SIGKILL")
	}
}

// destroyPause kills the pause. Its cgroup is the monitor's: the daemon removes it with the
// pod cgroup once the monitor is gone.
func (m *monitor) destroyPause() {
	m.killPause()
	m.knownMu.Lock()
	if m.pausePidfd >= 0 {
		unix.Close(m.pausePidfd)
		m.pausePidfd = -1
	}
	m.knownMu.Unlock()
}

// pauseStarted records the outcome of a pause started early (see setup), once setup is over:
// its pid in sandbox.json, or, when it failed, the sandbox NotReady (the daemon then stops
// and removes it, as after a pause's death).
func (m *monitor) pauseStarted(pid int, err error) {
	defer close(m.pauseSettled)
	if m.setupFailed {
		return // the setup's undo kills it
	}
	var t uint64
	if err == nil {
		if _, t, err = procstat.Stat(pid); err != nil {
			err = fmt.Errorf("pause %d: %w", pid, err)
		}
	}
	m.knownMu.Lock()
	m.pauseUp = err == nil
	m.knownMu.Unlock()
	if err == nil {
		select {
		case <-m.pauseDone:
			err = fmt.Errorf("pause %d exited at its start", pid) // before it was up: watchPause said nothing
		default:
		}
	}
	m.mu.Lock()
	m.status.Starting = false
	if err == nil {
		m.status.Pid, m.status.PidStartTime = pid, t
	} else {
		m.status.State = sandboxstate.NotReady
	}
	st := m.status
	m.mu.Unlock()
	if err != nil {
		m.log.Error("start pause", "err", err)
		m.closeNext()
	}
	if err := atomicfile.WriteJSON(m.p.SandboxFile(m.id, "sandbox.json"), st); err != nil {
		m.log.Error("write sandbox.json", "err", err)
	}
}

// Config is what the monitor needs to know of the pod, written by RunPodSandbox as
// <sandbox dir>/monitor.json.
type Config struct {
	PodUID      string `json:"podUID"`
	Hostname    string `json:"hostname"`
	HostNetwork bool   `json:"hostNetwork,omitempty"`
	// NetnsPath, IPCPath and UTSPath are the pod's namespaces, made and pinned by the daemon
	// (the pause joins them); the network namespace is required without hostNetwork. The
	// monitor unpins them when it goes.
	NetnsPath string `json:"netnsPath,omitempty"`
	IPCPath   string `json:"ipcPath,omitempty"`
	UTSPath   string `json:"utsPath,omitempty"`
	// LoopbackUp asks the monitor to set lo up in the pod's network namespace: the daemon has no
	// network of its own (--network=none) that does it with the pod's interface.
	LoopbackUp     bool   `json:"loopbackUp,omitempty"`
	HostIPC        bool   `json:"hostIPC,omitempty"`
	SharePID       bool   `json:"sharePID,omitempty"` // shareProcessNamespace without hostPID
	HostnamePath   string `json:"hostnamePath"`
	HostsPath      string `json:"hostsPath"`
	ResolvConfPath string `json:"resolvConfPath"`
	// CgroupParent is the pod cgroup ("/<cgroup root>/pod<uid>"): the monitor and the pause
	// live in its leaf InfraCgroup(sandbox id).
	CgroupParent string `json:"cgroupParent,omitempty"`
	// Pause is how to make the pause (its namespaces are the ones above).
	Pause pauseproc.Config `json:"pause"`
	// Helper is podrun-runner (or podrun): the monitor runs `<Helper> monitor helper <op>` for
	// the libcontainer work it keeps out of its own memory (see package runner).
	Helper string `json:"helper"`
}

func (m *monitor) undo() {
	for i := len(m.cleanups) - 1; i >= 0; i-- {
		m.cleanups[i]()
	}
	m.cleanups = nil
}

// shutdown kills and destroys every container and the pause, unpins the namespaces and
// unmounts shm. The daemon removes the directories and the pod cgroup afterwards.
func (m *monitor) shutdown() {
	m.closeNext()
	for _, c := range m.markNotReady() {
		m.removeContainer(c)
	}
	m.undo()
}

// markNotReady marks the sandbox as going down and returns its containers.
func (m *monitor) markNotReady() []*monContainer {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.status.State = sandboxstate.NotReady
	ctrs := make([]*monContainer, 0, len(m.ctrs))
	for _, c := range m.ctrs {
		ctrs = append(ctrs, c)
	}
	return ctrs
}

// waitExited returns once the child pid has exited (it stays a zombie for the caller to reap),
// without holding an OS thread meanwhile: a blocking wait (os.Process.Wait, which
// libcontainer's Process.Wait is) pins one thread per waited process for its whole life, and
// every thread costs the monitor a signal stack, a C stack and a malloc arena. A pidfd turns
// readable when its process exits, and the Go netpoller watches it for us. On error (no
// pidfd) the caller's blocking wait still works, only dearer.
func waitExited(pid int) {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		return
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	rc.Read(func(fd uintptr) bool { //nolint:errcheck // a failed poll falls back to the blocking wait
		p := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(p, 0)
		return err != nil && err != unix.EINTR || n > 0
	})
}

// reaper reaps orphans the kernel hands to the monitor as child subreaper, leaving alone the
// pids libcontainer or our goroutines wait for.
func (m *monitor) reaper() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, unix.SIGCHLD)
	for range ch {
		m.spawnMu.Lock()
		m.knownMu.Lock()
		for _, pid := range zombieChildren() {
			if m.known[pid] {
				continue
			}
			var ws unix.WaitStatus
			unix.Wait4(pid, &ws, unix.WNOHANG, nil) //nolint:errcheck
		}
		m.knownMu.Unlock()
		m.spawnMu.Unlock()
	}
}

// zombieChildren lists the orphans the kernel handed to this process that are zombies. An
// orphan is re-parented to the subreaper's first live thread (the kernel's
// find_alive_thread: the thread group leader, which a Go program never ends), so the
// leader's children file lists them all; the children other threads forked are the ones
// libcontainer and our goroutines wait for. Reading the leader's file alone spares a
// directory read of /proc/self/task and a file per thread on every SIGCHLD.
func zombieChildren() []int {
	var pids []int
	for _, z := range procstat.ZombieChildren(true) {
		pids = append(pids, z.Pid)
	}
	return pids
}

// exitRecord turns a wait status into the CRI's exit code, signal and reason.
func exitRecord(ws syscall.WaitStatus, started time.Time, oom bool) *ExitRecord {
	r := &ExitRecord{StartedAt: started, FinishedAt: time.Now().UTC()}
	switch {
	case ws.Signaled():
		r.Signal = int(ws.Signal())
		r.ExitCode = 128 + r.Signal
	default:
		r.ExitCode = ws.ExitStatus()
	}
	switch {
	case oom:
		r.Reason = "OOMKilled"
	case r.ExitCode == 0:
		r.Reason = "Completed"
	default:
		r.Reason = "Error"
	}
	return r
}

var errUnknownContainer = errors.New("unknown container")

func writeJSONResponse(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v) //nolint:errcheck
}
