package monitor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/podrun/podrun/monitor/helperproto"
)

// helper runs `<Helper> monitor helper op --id id args…` with stdin and files (fd 3 on) and
// decodes its answer into out (may be nil). held says the caller holds m.spawnMu (create:
// the new init must be known before the reaper may look); otherwise the helper's own pid is
// made known to the reaper for its life.
//
// A helper that answers closes its stdout right after: the answer is used then, and the
// helper's exit (a Go process tearing down, about a millisecond here) is waited for in the
// background. A new init stays the helper's child until then, and the monitor's (the
// subreaper's) once the helper is gone: waiting for it starts on its pidfd and reaps it
// afterwards, so it does not matter which it is at first.
func (m *monitor) helper(op, id string, stdin []byte, files []*os.File, args []string, out any, held bool) error {
	return m.runHelper(op, id, stdin, files, args, out, held, helperOpts{})
}

// helperOpts are runHelper's extras.
type helperOpts struct {
	// gone, if not nil, is closed once the helper is reaped.
	gone chan struct{}
}

// runHelper is helper with opts.
func (m *monitor) runHelper(op, id string, stdin []byte, files []*os.File, args []string, out any, held bool, opts helperOpts) error {
	hp, err := m.startHelper(op, id, stdin, files, args, held)
	if err != nil {
		return err
	}
	return m.awaitHelper(hp, op, id, out, opts)
}

// startHelper starts `<Helper> monitor helper op --id id args…` (see helper); awaitHelper
// reads its answer.
func (m *monitor) startHelper(op, id string, stdin []byte, files []*os.File, args []string, held bool) (*helperProc, error) {
	cmd := exec.Command(m.cfg.Helper, helperproto.Args(op, m.p.State, id, args...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("%s %s: helper: %w", op, id, err)
	}
	cmd.ExtraFiles = files
	cmd.Dir = "/"
	if !held {
		m.spawnMu.Lock()
	}
	m.knownMu.Lock()
	err = cmd.Start()
	if err == nil {
		m.known[cmd.Process.Pid] = true
	}
	m.knownMu.Unlock()
	if !held {
		m.spawnMu.Unlock()
	}
	if err != nil {
		return nil, fmt.Errorf("%s %s: start helper: %w", op, id, err)
	}
	return &helperProc{pid: cmd.Process.Pid, stdout: stdout, stderr: stderr.String, wait: cmd.Wait}, nil
}

// helperProc is a started helper: its pid, its stdout, what it wrote on stderr (once
// reaped), and how to reap it once it has exited.
type helperProc struct {
	pid    int
	stdout io.Reader
	stderr func() string
	wait   func() error
}

// adoptHelper is the first container's helper podrun-launch started beside us, our child: its stdout
// and stderr on fds 4 and 5 (see cmd/podrun-launch).
func adoptHelper(pid int) *helperProc {
	for _, fd := range []int{4, 5} {
		unix.CloseOnExec(fd)
		// Non-blocking, so that os.NewFile hands them to the runtime's poller: a read that
		// waits then parks a goroutine, not a thread (each thread stays in the monitor for
		// its life).
		unix.SetNonblock(fd, true) //nolint:errcheck // else a blocking read, as before
	}
	stdout, errf := os.NewFile(4, "helper-stdout"), os.NewFile(5, "helper-stderr")
	var stderr bytes.Buffer
	copied := make(chan struct{})
	go func() {
		io.Copy(&stderr, errf) //nolint:errcheck // until the helper exits
		errf.Close()
		close(copied)
	}()
	return &helperProc{pid: pid, stdout: stdout,
		stderr: func() string { <-copied; return stderr.String() },
		wait: func() error {
			defer stdout.Close()
			ws, err := reapChild(pid)
			<-copied
			switch {
			case err != nil:
				return err
			case !ws.Exited() || ws.ExitStatus() != 0:
				return fmt.Errorf("helper %d: wait status %#x", pid, uint32(ws))
			}
			return nil
		}}
}

// awaitHelper reads a started helper's answer into out (see helper) and reaps it.
func (m *monitor) awaitHelper(hp *helperProc, op, id string, out any, opts helperOpts) error {
	answer, _ := io.ReadAll(hp.stdout) // until the helper closes it or exits
	reap := func() error {
		waitExited(hp.pid)
		err := hp.wait()
		m.knownMu.Lock()
		delete(m.known, hp.pid)
		m.knownMu.Unlock()
		if opts.gone != nil {
			close(opts.gone)
		}
		return err
	}
	if out != nil && len(bytes.TrimSpace(answer)) > 0 {
		if err := json.Unmarshal(answer, out); err == nil {
			go reap() //nolint:errcheck // it answered: its exit status adds nothing
			return nil
		}
	}
	err := reap()
	if err != nil {
		if msg := strings.TrimSpace(hp.stderr()); msg != "" {
			return errors.New(msg)
		}
		return fmt.Errorf("%s %s: helper: %w", op, id, err)
	}
	if out != nil {
		if err := json.Unmarshal(answer, out); err != nil {
			return fmt.Errorf("%s %s: helper answer: %w", op, id, err)
		}
	}
	return nil
}

// reapChild waits for the exit of pid, a child of the monitor, without holding a thread
// meanwhile, and reaps it.
func reapChild(pid int) (unix.WaitStatus, error) {
	waitExited(pid)
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(pid, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		return ws, err
	}
}

// nextHelper is the first container's helper, kept for the pod's first container (helperproto.NextOp).
type nextHelper struct {
	sock *os.File      // our end of the helper's fd 3
	gone chan struct{} // closed once the helper is reaped: its children are ours from then on
}

var (
	// errNextUnavailable: the request did not reach the first container's helper (it is gone, or the
	// request is too big); nothing was made.
	errNextUnavailable = errors.New("the first container's helper is not available")
	// errNextNoAnswer: the first container's helper ended without answering: it may have made part of
	// the container, or nothing (gone at its deadline with the request unread).
	errNextNoAnswer = errors.New("the first container's helper ended without an answer")
)

// takeNext hands out the first container's helper once; the caller holds m.spawnMu.
func (m *monitor) takeNext() *nextHelper {
	n := m.next
	m.next = nil
	return n
}

// closeNext lets the first container's helper go, if nobody took it.
func (m *monitor) closeNext() {
	m.spawnMu.Lock()
	n := m.takeNext()
	m.spawnMu.Unlock()
	if n != nil {
		n.sock.Close()
	}
}

// create asks the first container's helper for a container: files are sent as SCM_RIGHTS, stdio
// indexes them (stdin, stdout, stderr, console socket; -1 for none). The helper answers and
// exits; the socket is closed here.
func (n *nextHelper) create(id string, launch []byte, files []*os.File, stdio [4]int) (*helperproto.Result, error) {
	defer n.sock.Close()
	msg, err := helperproto.NextMessage(helperproto.NextRequest{ID: id, Stdio: stdio}, launch)
	if err != nil {
		return nil, err
	}
	var oob []byte
	if len(files) > 0 {
		fds := make([]int, len(files))
		for i, f := range files {
			fds[i] = int(f.Fd())
		}
		oob = unix.UnixRights(fds...)
	}
	fd := int(n.sock.Fd())
	if err := unix.Sendmsg(fd, msg, oob, nil, unix.MSG_NOSIGNAL); err != nil {
		return nil, fmt.Errorf("%w: %v", errNextUnavailable, err)
	}
	buf := make([]byte, 16<<10)
	k, err := unix.Read(fd, buf)
	for err == unix.EINTR {
		k, err = unix.Read(fd, buf)
	}
	if err != nil || k <= 0 {
		return nil, fmt.Errorf("create %s: %w", id, errNextNoAnswer)
	}
	var r helperproto.NextReply
	if err := json.Unmarshal(buf[:k], &r); err != nil {
		return nil, fmt.Errorf("create %s: helper answer: %w", id, err)
	}
	if r.Error != "" {
		return nil, errors.New(r.Error)
	}
	return &r.Result, nil
}
