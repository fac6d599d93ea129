package runner

// The exec server: one `podrun-runner serve` per daemon runs the daemon's execs (kubectl exec,
// exec probes, exec hooks). The container process libcontainer starts for an exec is
// re-executed from the binary that calls libcontainer; from the daemon that was the whole
// podrun binary, whose start (mapping it, initialising its packages) was most of an exec
// probe's CPU. From this server it is podrun-runner.
//
// Protocol, over a SOCK_SEQPACKET socket pair the daemon made (the server's end is its fd 3):
// each exec is one message, an execRequest with, as SCM_RIGHTS, the exec's own connection (a
// fresh socket pair's end) and then the stdio the request says it carries. On that connection
// the server answers an execReply with the pid once the process runs (or an error), and a
// second one with its exit code when it has ended and been reaped. Anything the daemon
// writes on it, or its closing it, kills the process. The server exits when the daemon's
// end of fd 3 closes: when the daemon is gone.

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/podrun/podrun/internal/layout"
)

// execRequest is one exec. The files after the connection, in this order, are those marked.
type execRequest struct {
	ID      string  `json:"id"`
	Process Process `json:"process"`
	Stdin   bool    `json:"stdin,omitempty"`
	Stdout  bool    `json:"stdout,omitempty"`
	Stderr  bool    `json:"stderr,omitempty"`
	Console bool    `json:"console,omitempty"`
}

// execReply is the server's answer: first Pid (or Error), then Exited with the wait status.
type execReply struct {
	Pid        int    `json:"pid,omitempty"`
	Exited     bool   `json:"exited,omitempty"`
	WaitStatus uint32 `json:"waitStatus,omitempty"`
	Error      string `json:"error,omitempty"`
	NotFound   bool   `json:"notFound,omitempty"`
	NotRunning bool   `json:"notRunning,omitempty"`
}

// maxMessage bounds one request (a process's env and args travel in it).
const maxMessage = 1 << 20

// ErrNotFound and ErrNotRunning are an exec's container missing or not running.
var (
	ErrNotFound   = errors.New("container not found")
	ErrNotRunning = errors.New("container is not running")
)

// serveMain is `serve --state DIR`: the exec server on fd 3.
func serveMain(args []string) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	state := fs.String("state", "/run/podrun", "state dir")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	logrus.SetOutput(os.Stderr)
	logrus.SetLevel(logrus.WarnLevel)
	f := os.NewFile(3, "control")
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		fmt.Fprintf(os.Stderr, "runner serve: control socket: %v\n", err)
		return 1
	}
	ctl, ok := c.(*net.UnixConn)
	if !ok {
		fmt.Fprintln(os.Stderr, "runner serve: fd 3 is not a unix socket")
		return 1
	}
	go reapLeaked(leakedAfter, nil)
	srv := &server{p: paths{State: *state}, loaded: map[string]*loaded{}}
	buf := make([]byte, maxMessage)
	oob := make([]byte, unix.CmsgSpace(5*4))
	for {
		n, oobn, flags, _, err := ctl.ReadMsgUnix(buf, oob)
		if err != nil || n == 0 {
			return 0 // the daemon is gone
		}
		files := receivedFiles(oob[:oobn])
		if flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0 || len(files) == 0 {
			closeFiles(files)
			continue
		}
		var req execRequest
		if err := json.Unmarshal(buf[:n], &req); err != nil {
			reply(files[0], &execReply{Error: fmt.Sprintf("exec request: %v", err)})
			closeFiles(files)
			continue
		}
		go srv.exec(&req, files[0], files[1:])
	}
}

// receivedFiles are the descriptors of an SCM_RIGHTS message, as files. The first, the exec's
// connection, is made non-blocking so that closing it ends a read pending on it; the stdio
// stays as it came: it is the process's.
func receivedFiles(oob []byte) []*os.File {
	var files []*os.File
	for i, fd := range rightsFds(oob) {
		unix.CloseOnExec(fd)
		if i == 0 {
			unix.SetNonblock(fd, true) //nolint:errcheck // then reads block a thread: still correct
		}
		files = append(files, os.NewFile(uintptr(fd), "exec"))
	}
	return files
}

func closeFiles(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}

// reply writes one answer on an exec's connection.
func reply(conn *os.File, r *execReply) error {
	if len(r.Error) > maxReply/2 {
		r.Error = r.Error[:maxReply/2] + "…"
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = conn.Write(b)
	return err
}

// server keeps the containers it has loaded: libcontainer.Load decodes the container's whole
// state file and makes its cgroup manager, a tenth of the server's CPU per exec probe when
// done for each. A container's state does not change while it runs (podrun never pauses
// nor updates one); an entry is dropped when its container is found not running, and when
// unused for loadedTTL.
type server struct {
	p      paths
	mu     sync.Mutex
	loaded map[string]*loaded
}

type loaded struct {
	c        *libcontainer.Container
	lastUsed time.Time
}

const loadedTTL = 2 * time.Minute

// container is id's libcontainer handle, loaded once.
func (s *server) container(id string) (*libcontainer.Container, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	for k, l := range s.loaded {
		if now.Sub(l.lastUsed) > loadedTTL {
			delete(s.loaded, k)
		}
	}
	if l, ok := s.loaded[id]; ok {
		l.lastUsed = now
		return l.c, nil
	}
	c, err := libcontainer.Load(s.p.Runc(), id)
	if err != nil {
		return nil, err
	}
	s.loaded[id] = &loaded{c: c, lastUsed: now}
	return c, nil
}

func (s *server) forget(id string) {
	s.mu.Lock()
	delete(s.loaded, id)
	s.mu.Unlock()
}

// exec runs one exec to its end: the container, Run, the pid, a kill on request, Wait, the
// status.
func (s *server) exec(req *execRequest, conn *os.File, stdio []*os.File) {
	defer conn.Close()
	fail := func(r *execReply) {
		closeFiles(stdio)
		reply(conn, r) //nolint:errcheck // the daemon may have given up
	}
	want := 0
	for _, b := range []bool{req.Stdin, req.Stdout, req.Stderr, req.Console} {
		if b {
			want++
		}
	}
	if len(stdio) != want {
		fail(&execReply{Error: fmt.Sprintf("exec request: %d files for %d streams", len(stdio), want)})
		return
	}
	if !layout.ValidID(req.ID) {
		fail(&execReply{Error: "invalid id", NotFound: true})
		return
	}
	c, err := s.container(req.ID)
	if err != nil {
		fail(&execReply{Error: err.Error(), NotFound: true})
		return
	}
	if st, err := c.Status(); err != nil || st != libcontainer.Running {
		// Stopped, or gone since it was loaded: the next exec loads it again.
		s.forget(req.ID)
		fail(&execReply{Error: "not running", NotRunning: true})
		return
	}
	proc := req.Process.Libcontainer(false)
	next := stdio
	take := func(marked bool) *os.File {
		if !marked {
			return nil
		}
		f := next[0]
		next = next[1:]
		return f
	}
	if f := take(req.Stdin); f != nil {
		proc.Stdin = f
	}
	if f := take(req.Stdout); f != nil {
		proc.Stdout = f
	}
	if f := take(req.Stderr); f != nil {
		proc.Stderr = f
	}
	proc.ConsoleSocket = take(req.Console)
	err = c.Run(proc)
	closeFiles(stdio) // the process has its own copies
	if err != nil {
		reply(conn, &execReply{Error: err.Error()}) //nolint:errcheck
		return
	}
	pid, _ := proc.Pid()
	if err := reply(conn, &execReply{Pid: pid}); err != nil {
		proc.Signal(unix.SIGKILL) //nolint:errcheck // the daemon is not listening
	}
	exited := make(chan struct{})
	go func() {
		// Any message, or the connection's end, is a kill (until the process has exited).
		b := make([]byte, 16)
		conn.Read(b) //nolint:errcheck
		select {
		case <-exited:
		default:
			proc.Signal(unix.SIGKILL) //nolint:errcheck
		}
	}()
	ps, err := proc.Wait()
	close(exited)
	if ps == nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			reply(conn, &execReply{Error: fmt.Sprintf("wait: %v", err)}) //nolint:errcheck
			return
		}
		ps = ee.ProcessState
	}
	ws, _ := ps.Sys().(syscall.WaitStatus)
	reply(conn, &execReply{Exited: true, WaitStatus: uint32(ws)}) //nolint:errcheck
}
