package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ExecServer is the daemon's handle on its exec server (see exec.go): started on the first
// exec, and again on the next one after it died.
type ExecServer struct {
	argv   []string // the server's command line
	env    []string
	stderr io.Writer

	mu  sync.Mutex
	ctl *net.UnixConn // the daemon's end of the control socket; nil: no server running
	cmd *exec.Cmd
}

// NewExecServer makes the handle of a server run as argv (`podrun-runner serve --state DIR`,
// or `podrun runner serve …`) with env, whose stderr goes to stderr. libcontainer hands the
// server's GOMAXPROCS on to the init of every exec.
func NewExecServer(argv, env []string, stderr io.Writer) *ExecServer {
	return &ExecServer{argv: argv, env: env, stderr: stderr}
}

// Stdio is an exec's stdio: the process's ends (nil = none). Console is the socket libcontainer
// sends the pty master on (a TTY exec).
type Stdio struct {
	Stdin, Stdout, Stderr, Console *os.File
}

// Exec is one process started by the server.
type Exec struct {
	Pid  int
	conn *os.File
}

// Start runs p in the running container id and returns once the process runs. The errors
// ErrNotFound and ErrNotRunning are returned wrapped. When ctx ends first, Start returns its
// error and gives the exec up: the server kills the process if it ever starts it.
func (s *ExecServer) Start(ctx context.Context, id string, p *Process, stdio Stdio) (*Exec, error) {
	req := execRequest{ID: id, Process: *p}
	var files []*os.File
	for _, x := range []struct {
		f    *os.File
		mark *bool
	}{{stdio.Stdin, &req.Stdin}, {stdio.Stdout, &req.Stdout}, {stdio.Stderr, &req.Stderr}, {stdio.Console, &req.Console}} {
		if x.f != nil {
			*x.mark = true
			files = append(files, x.f)
		}
	}
	msg, err := json.Marshal(&req)
	if err != nil {
		return nil, err
	}
	if len(msg) > maxMessage {
		return nil, fmt.Errorf("exec request of %d bytes is over %d (env and args)", len(msg), maxMessage)
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("exec: socketpair: %w", err)
	}
	conn := os.NewFile(uintptr(fds[0]), "exec")
	theirs := os.NewFile(uintptr(fds[1]), "exec-server")
	rights := []int{int(theirs.Fd())}
	for _, f := range files {
		rights = append(rights, int(f.Fd()))
	}
	// A server that died since the last exec is noticed here: start a new one, once.
	oob := unix.UnixRights(rights...)
	if err = s.send(msg, oob); err != nil {
		err = s.send(msg, oob)
	}
	// Only the server may hold its end from now on: were it to die, our reads must see EOF.
	theirs.Close()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("exec server: %w", err)
	}
	// A server stuck in the start (libcontainer never answered it) must not hold the caller
	// (a probe, and the deletion of its pod waiting for the probe) beyond its deadline.
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) }) //nolint:errcheck // a pollable socket
	r, err := readReply(conn)
	stop()
	if err != nil {
		conn.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("exec server: no answer: %w", ctx.Err())
		}
		return nil, fmt.Errorf("exec server: %w", err)
	}
	switch {
	case r.NotFound:
		conn.Close()
		return nil, fmt.Errorf("%w: %s", ErrNotFound, r.Error)
	case r.NotRunning:
		conn.Close()
		return nil, ErrNotRunning
	case r.Error != "":
		conn.Close()
		return nil, errors.New(r.Error)
	}
	return &Exec{Pid: r.Pid, conn: conn}, nil
}

// killWait bounds how long Wait waits, after Kill, for the server to report the end (a
// SIGKILL: well under a millisecond normally): a server that does not must not hold the caller
// (a probe, and the deletion of its pod waiting for the probe).
var killWait = 5 * time.Second

// Kill kills the process (SIGKILL, by the server); Wait still reports its end, or an error if
// the server has not reported it within killWait.
func (e *Exec) Kill() {
	e.conn.Write([]byte{'k'})                        //nolint:errcheck // the server may be gone, and the process with it
	e.conn.SetReadDeadline(time.Now().Add(killWait)) //nolint:errcheck // a pollable socket
}

// Wait waits for the process to end and returns its wait status. It closes the exec.
func (e *Exec) Wait() (syscall.WaitStatus, error) {
	defer e.conn.Close()
	r, err := readReply(e.conn)
	if err != nil {
		return 0, fmt.Errorf("exec server: %w", err)
	}
	if r.Error != "" {
		return 0, errors.New(r.Error)
	}
	return syscall.WaitStatus(r.WaitStatus), nil
}

// replyBufs holds the buffers answers are read into: an exec probe every second for each of
// many containers made these reads most of the daemon's garbage.
var replyBufs = sync.Pool{New: func() any { b := make([]byte, maxReply); return &b }}

// maxReply bounds an answer (an error message at most).
const maxReply = 8 << 10

func readReply(conn *os.File) (*execReply, error) {
	bp := replyBufs.Get().(*[]byte)
	defer replyBufs.Put(bp)
	b := *bp
	n, err := conn.Read(b)
	if err != nil || n == 0 {
		if err == nil || err == io.EOF {
			err = errors.New("connection closed before the answer")
		}
		return nil, err
	}
	var r execReply
	if err := json.Unmarshal(b[:n], &r); err != nil {
		return nil, fmt.Errorf("answer: %w", err)
	}
	return &r, nil
}

// send writes one request on the control socket, starting the server first when none runs;
// a failed write marks the server gone (its end closed) and is returned.
func (s *ExecServer) send(msg, oob []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctl == nil {
		if err := s.start(); err != nil {
			return err
		}
	}
	_, _, err := s.ctl.WriteMsgUnix(msg, oob, nil)
	if err != nil {
		s.stopLocked()
	}
	return err
}

// start runs the server with its end of a new control socket as fd 3 (s.mu held).
func (s *ExecServer) start() error {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socketpair: %w", err)
	}
	ours := os.NewFile(uintptr(fds[0]), "exec-control")
	theirs := os.NewFile(uintptr(fds[1]), "exec-control-server")
	defer theirs.Close()
	c, err := net.FileConn(ours)
	ours.Close()
	if err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	ctl := c.(*net.UnixConn)
	cmd := exec.Command(s.argv[0], s.argv[1:]...)
	cmd.ExtraFiles = []*os.File{theirs}
	cmd.Stderr = s.stderr
	cmd.Dir = "/"
	cmd.Env = s.env
	if err := cmd.Start(); err != nil {
		ctl.Close()
		return fmt.Errorf("start %s: %w", strings.Join(s.argv, " "), err)
	}
	go cmd.Wait() //nolint:errcheck // reaps it; a dead server is noticed at the next send
	s.ctl, s.cmd = ctl, cmd
	return nil
}

// Close stops the server (it is killed). Processes it was running execs for go on, as they
// did when the daemon ran them itself; their callers see their connections end.
func (s *ExecServer) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
}

func (s *ExecServer) stopLocked() {
	if s.ctl != nil {
		s.ctl.Close()
		s.ctl = nil
	}
	if s.cmd != nil {
		s.cmd.Process.Kill() //nolint:errcheck // it may have exited already
		s.cmd = nil
	}
}

// Pid is the running server's pid, 0 when none runs.
func (s *ExecServer) Pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}
