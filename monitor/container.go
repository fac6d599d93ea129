package monitor

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/podrun/podrun/cri/sandboxstate"
	"github.com/podrun/podrun/crilog"
	"github.com/podrun/podrun/internal/atomicfile"
	"github.com/podrun/podrun/internal/layout"
	"github.com/podrun/podrun/internal/procstat"
	"github.com/podrun/podrun/monitor/helperproto"
)

func (m *monitor) get(id string) *monContainer {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ctrs[id]
}

// createContainer makes the libcontainer container of a bundle and starts its init, which then
// waits on the exec fifo until startContainer (the CRI's created state). The monitor keeps
// the read ends of its stdout/stderr (or the console) and copies them into the CRI log.
func (m *monitor) createContainer(req *CreateRequest, launch []byte) (pid int, retErr error) {
	if !layout.ValidID(req.ID) || !filepath.IsAbs(req.LogPath) || len(req.Launch) == 0 {
		return 0, fmt.Errorf("create container: bad request")
	}
	if m.get(req.ID) != nil {
		return 0, fmt.Errorf("create container %s: already exists", req.ID)
	}
	if err := os.MkdirAll(filepath.Dir(req.LogPath), 0o755); err != nil {
		return 0, fmt.Errorf("create container %s: log dir: %w", req.ID, err)
	}
	logw, err := crilog.NewWriter(req.LogPath)
	if err != nil {
		return 0, fmt.Errorf("create container %s: %w", req.ID, err)
	}
	mc := &monContainer{id: req.ID, log: logw, done: make(chan struct{})}
	// The init's stdin, stdout, stderr and console socket, given to the helper.
	var stdio [4]*os.File

	// closeAfterStart are the child's ends of its stdio: closed here once it has them, so the
	// log copiers see EOF when the container's processes are gone.
	var closeAfterStart, closeOnError []io.Closer
	defer func() {
		for _, c := range closeAfterStart {
			c.Close()
		}
		if retErr != nil {
			for _, c := range closeOnError {
				c.Close()
			}
			logw.Close()
		}
	}()

	var consoleParent *os.File
	if req.TTY {
		parent, child, err := newSockPair("console", unix.SOCK_STREAM)
		if err != nil {
			return 0, fmt.Errorf("create container %s: console socket: %w", req.ID, err)
		}
		stdio[3] = child
		consoleParent = parent
		closeAfterStart = append(closeAfterStart, child, parent)
	} else {
		for _, s := range []struct {
			name string
			dst  **os.File
		}{{crilog.Stdout, nil}, {crilog.Stderr, nil}} {
			r, w, err := os.Pipe()
			if err != nil {
				return 0, fmt.Errorf("create container %s: pipe: %w", req.ID, err)
			}
			if s.name == crilog.Stdout {
				stdio[1] = w
			} else {
				stdio[2] = w
			}
			closeAfterStart = append(closeAfterStart, w)
			closeOnError = append(closeOnError, r)
			stream := logw.Stream(s.name)
			mc.copiers.Add(1)
			defer func(r *os.File) {
				// Copiers start only once the container exists.
				if retErr == nil {
					go copyLog(&mc.copiers, r, stream)
				} else {
					mc.copiers.Done()
				}
			}(r)
		}
		if req.Stdin {
			r, w, err := os.Pipe()
			if err != nil {
				return 0, fmt.Errorf("create container %s: pipe: %w", req.ID, err)
			}
			stdio[0] = r
			closeAfterStart = append(closeAfterStart, r)
			closeOnError = append(closeOnError, w)
			mc.stdin = w
		}
	}

	defer func() {
		if retErr != nil {
			m.helper("destroy", req.ID, nil, nil, nil, nil, false) //nolint:errcheck
		}
	}()

	var consoleCh chan *os.File
	if consoleParent != nil {
		// The init sends the pty master while Start runs: receive it concurrently.
		consoleCh = make(chan *os.File, 1)
		go func() {
			f, err := recvFile(consoleParent)
			if err != nil {
				m.log.Warn("receive console", "container", req.ID, "err", err)
			}
			consoleCh <- f
		}()
	}

	fds := make([]string, 4) // for a new helper: its descriptor numbers
	var idx [4]int           // for the first container's helper: indexes in files
	var files []*os.File
	for i, f := range stdio {
		fds[i], idx[i] = "-1", -1
		if f != nil {
			fds[i], idx[i] = strconv.Itoa(3+len(files)), len(files)
			files = append(files, f)
		}
	}
	var res helperproto.Result
	m.spawnMu.Lock()
	err = errNextUnavailable
	if n := m.takeNext(); n != nil {
		// The pod's first container: its helper, started with the monitor, makes it.
		var r *helperproto.Result
		if r, err = n.create(req.ID, launch, files, idx); err == nil {
			res = *r
		} else if errors.Is(err, errNextNoAnswer) {
			// It may have gone at its deadline with our request unread: clean up after it
			// whatever it made, and make the container with a helper of our own.
			m.log.Warn("first container: its helper gave no answer", "container", req.ID, "err", err)
			err = m.helper("destroy", req.ID, nil, nil, nil, nil, true)
			if err == nil {
				err = errNextUnavailable
			}
		}
		// Its children, the new init among them, are ours once it is gone.
		mc.reapAfter = n.gone
	}
	if errors.Is(err, errNextUnavailable) {
		err = m.helper("create", req.ID, launch, files, []string{"--stdio", strings.Join(fds, ",")}, &res, true)
	}
	pid = res.Pid
	if err == nil {
		m.knownMu.Lock()
		m.known[pid] = true
		m.knownMu.Unlock()
	}
	m.spawnMu.Unlock()
	if err != nil {
		return 0, fmt.Errorf("create container %s: %w", req.ID, err)
	}
	mc.pid = pid
	if consoleCh != nil {
		var master *os.File
		select {
		case master = <-consoleCh:
		case <-time.After(5 * time.Second):
		}
		if master == nil {
			return 0, fmt.Errorf("create container %s: no console received", req.ID)
		}
		if req.Stdin {
			mc.stdin = master
		}
		mc.copiers.Add(1)
		go func() {
			copyLog(&mc.copiers, master, logw.Stream(crilog.Stdout))
			if !req.Stdin {
				master.Close()
			}
		}()
	}
	mc.cgroupMem = res.CgroupMem

	m.mu.Lock()
	m.ctrs[req.ID] = mc
	m.mu.Unlock()
	go m.waitContainer(mc)
	return pid, nil
}

// copyLog copies one stream into the CRI log with a small buffer (the monitor stays small).
func copyLog(wg *sync.WaitGroup, r io.ReadCloser, w io.WriteCloser) {
	defer wg.Done()
	buf := make([]byte, 8*1024)
	// struct{io.Reader} hides os.File's WriteTo, which would copy with its own 32 KiB buffer.
	io.CopyBuffer(w, struct{ io.Reader }{r}, buf) //nolint:errcheck // EOF or EIO (pty) ends the stream
	w.Close()
	r.Close()
}

// waitContainer waits for the container's init, records its exit in exit.json and only then
// answers waiters.
func (m *monitor) waitContainer(mc *monContainer) {
	if mc.reapAfter != nil {
		<-mc.reapAfter
	}
	uws, err := reapChild(mc.pid)
	m.knownMu.Lock()
	delete(m.known, mc.pid)
	m.knownMu.Unlock()
	ws := syscall.WaitStatus(uws)
	if err != nil {
		m.log.Warn("wait container", "container", mc.id, "err", err)
		ws = syscall.WaitStatus(255 << 8)
	}
	// The log copiers end when every holder of the pipes is gone; a daemonised grandchild
	// may keep them open, so do not hold the exit record hostage for long.
	copied := make(chan struct{})
	go func() { mc.copiers.Wait(); close(copied) }()
	select {
	case <-copied:
	case <-time.After(2 * time.Second):
	}
	m.mu.Lock()
	started := mc.started
	m.mu.Unlock()
	rec := exitRecord(ws, started, oomKilled(mc.cgroupMem))
	if err := atomicfile.WriteJSON(m.p.ContainerFile(mc.id, "exit.json"), rec); err != nil {
		m.log.Error("write exit record", "container", mc.id, "err", err)
	}
	m.mu.Lock()
	mc.exit = rec
	m.mu.Unlock()
	close(mc.done)
	m.log.Info("container exited", "container", mc.id, "exitCode", rec.ExitCode, "reason", rec.Reason)
}

// oomKilled reads the oom_kill counter of a fresh container cgroup (memory.events on v2,
// memory.oom_control on v1): any kill means the kernel OOM killer hit the container.
func oomKilled(dir string) bool {
	if dir == "" {
		return false
	}
	for _, f := range []string{"memory.events", "memory.oom_control"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(line, " ")
			if ok && k == "oom_kill" {
				n, _ := strconv.Atoi(strings.TrimSpace(v))
				return n > 0
			}
		}
	}
	return false
}

// startContainer lets the created init exec the user's process.
func (m *monitor) startContainer(id string) error {
	mc := m.get(id)
	if mc == nil {
		return errUnknownContainer
	}
	select {
	case <-mc.done:
		return fmt.Errorf("start container %s: already exited", id)
	default:
	}
	// A container may be made while the pause is (see setup); it starts only once the pause
	// runs, as on a kubelet no container runs before its sandbox.
	select {
	case <-m.pauseSettled:
	case <-time.After(time.Minute):
		return fmt.Errorf("start container %s: the pause is not up after a minute", id)
	}
	m.mu.Lock()
	ready := m.status.State == sandboxstate.Ready
	m.mu.Unlock()
	if !ready {
		return fmt.Errorf("start container %s: the sandbox is not ready", id)
	}
	now := time.Now().UTC()
	m.mu.Lock()
	mc.started = now
	m.mu.Unlock()
	rec := StartRecord{Pid: mc.pid, StartedAt: now}
	if _, t, err := procstat.Stat(mc.pid); err == nil {
		rec.StartTime = t
	}
	if err := atomicfile.WriteJSON(m.p.ContainerFile(id, "started.json"), rec); err != nil {
		return fmt.Errorf("start container %s: %w", id, err)
	}
	if err := m.execFifo(mc); err != nil {
		return fmt.Errorf("start container %s: %w", id, err)
	}
	return nil
}

// execFifo lets a created init exec the user's process, as libcontainer's Container.Exec
// does: the init blocks opening <runc root>/<id>/exec.fifo for writing until someone opens it
// for reading, writes one byte and execs. Done here rather than in a helper: it needs nothing
// of libcontainer (no allocation worth keeping out of the monitor), and a helper cost an exec
// of the podrun binary (~5 ms, most of it package init) on every container start.
func (m *monitor) execFifo(mc *monContainer) error {
	path := filepath.Join(m.p.Runc(), mc.id, "exec.fifo")
	type opened struct {
		f   *os.File
		err error
	}
	ch := make(chan opened, 1)
	go func() {
		// Blocks until the init opens its end (or we do, below).
		f, err := os.OpenFile(path, os.O_RDONLY, 0)
		ch <- opened{f, err}
	}()
	var o opened
	select {
	case o = <-ch:
	case <-mc.done:
		// The init died before opening its end: release our blocked open with a writer of our
		// own that writes nothing, so the read below sees EOF. A non-blocking open for writing
		// fails (ENXIO) until our reader is in open: retry until the goroutine is out.
	release:
		for {
			if w, err := os.OpenFile(path, os.O_WRONLY|unix.O_NONBLOCK, 0); err == nil {
				w.Close()
			}
			select {
			case o = <-ch:
				break release
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	if o.err != nil {
		return fmt.Errorf("exec fifo: %w", o.err)
	}
	defer o.f.Close()
	b, err := io.ReadAll(o.f)
	if err != nil {
		return fmt.Errorf("exec fifo: %w", err)
	}
	if len(b) == 0 {
		return errors.New("container process is already dead or already started")
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("exec fifo: %w", err)
	}
	return nil
}

func (m *monitor) signalContainer(id string, sig int) error {
	mc := m.get(id)
	if mc == nil {
		return errUnknownContainer
	}
	select {
	case <-mc.done:
		return nil // already exited: nothing to signal
	default:
	}
	if err := m.helper("signal", id, nil, nil, []string{"--signal", strconv.Itoa(sig)}, nil, false); err != nil {
		return fmt.Errorf("signal container %s: %w", id, err)
	}
	return nil
}

// removeContainer kills the container if needed, waits for its exit record and destroys it.
func (m *monitor) removeContainer(mc *monContainer) {
	select {
	case <-mc.done:
	default:
		m.killContainer(mc.id)
		select {
		case <-mc.done:
		case <-time.After(10 * time.Second):
			m.log.Warn("container did not die", "container", mc.id)
		}
	}
	if err := m.helper("destroy", mc.id, nil, nil, nil, nil, false); err != nil {
		m.log.Warn("destroy container", "container", mc.id, "err", err)
	}
	if mc.stdin != nil {
		mc.stdin.Close()
	}
	mc.log.Close()
	m.mu.Lock()
	delete(m.ctrs, mc.id)
	m.mu.Unlock()
}

// killContainer sends SIGKILL to a container (all its processes when it shares a pid
// namespace, as libcontainer does).
func (m *monitor) killContainer(id string) {
	if err := m.helper("signal", id, nil, nil, []string{"--signal", strconv.Itoa(int(unix.SIGKILL))}, nil, false); err != nil {
		m.log.Warn("kill container", "container", id, "err", err)
	}
}

// newSockPair returns a connected pair of unix sockets of type typ: a stream for the console
// socket libcontainer sends a container's pty master over, a seqpacket one to the pause's
// helper.
func newSockPair(name string, typ int) (parent, child *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_LOCAL, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	return os.NewFile(uintptr(fds[1]), name+"-p"), os.NewFile(uintptr(fds[0]), name+"-c"), nil
}

// recvFile receives one file descriptor sent with SCM_RIGHTS on socket.
func recvFile(socket *os.File) (*os.File, error) {
	name := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	rc, err := socket.SyscallConn()
	if err != nil {
		return nil, err
	}
	var n, oobn int
	var rerr error
	if err := rc.Control(func(fd uintptr) {
		n, oobn, _, _, rerr = unix.Recvmsg(int(fd), name, oob, unix.MSG_CMSG_CLOEXEC)
	}); err != nil {
		return nil, err
	}
	if rerr != nil {
		return nil, rerr
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return nil, err
	}
	if len(msgs) != 1 {
		return nil, fmt.Errorf("recvfile: %d control messages", len(msgs))
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil {
		return nil, err
	}
	if len(fds) != 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, fmt.Errorf("recvfile: %d fds", len(fds))
	}
	return os.NewFile(uintptr(fds[0]), string(name[:n])), nil
}
