package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/console"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/utils"
	"golang.org/x/sys/unix"

	"github.com/podrun/podrun/cri"
	"github.com/podrun/podrun/internal/layout"
)

// ExecSync runs cmd in the container and collects its output. At timeout the process is
// killed, ExitCode is -1 and the error wraps context.DeadlineExceeded.
func (r *Runtime) ExecSync(ctx context.Context, id string, cmd []string, timeout time.Duration) (*cri.ExecResult, error) {
	var stdout, stderr bytes.Buffer
	ectx := ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		ectx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	code, err := r.Exec(ectx, id, &cri.ExecRequest{Cmd: cmd, Stdout: &stdout, Stderr: &stderr})
	res := &cri.ExecResult{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), ExitCode: code}
	if err != nil {
		res.ExitCode = -1
		return res, err
	}
	return res, nil
}

// execDrain bounds how long output is read after the exec'd process ended: a background child
// may hold the pipes forever.
const execDrain = 2 * time.Second

// Exec runs a process in the running container from this process (libcontainer Load + Run,
// Init=false): no monitor and no daemon memory needed, so it works after a daemon restart. The
// process gets the container's env, cwd, user, groups, capabilities and noNewPrivileges. When
// ctx ends first the process is killed and the error wraps ctx.Err().
func (r *Runtime) Exec(ctx context.Context, id string, req *cri.ExecRequest) (int, error) {
	if req == nil || len(req.Cmd) == 0 {
		return -1, fmt.Errorf("exec in %s: empty command", id)
	}
	if !layout.ValidID(id) {
		return -1, notFound("container", id)
	}
	c, err := libcontainer.Load(r.p.Runc(), id)
	if err != nil {
		return -1, fmt.Errorf("exec in %s: %w", id, notFound("container", id))
	}
	if s, err := c.Status(); err != nil || s != libcontainer.Running {
		return -1, fmt.Errorf("exec in %s: %w", id, cri.ErrNotRunning)
	}
	spec, err := readSpec(r.p.Container(id))
	if err != nil {
		return -1, fmt.Errorf("exec in %s: %w", id, err)
	}
	proc, err := newProcess(spec.Process, false)
	if err != nil {
		return -1, fmt.Errorf("exec in %s: %w", id, err)
	}
	proc.Args = req.Cmd
	proc.Rlimits = nil // already the container's; setting them again needs CAP_SYS_RESOURCE

	var (
		closeAfterStart []io.Closer
		copiers         sync.WaitGroup
		stdinW          *os.File
		consoleParent   *os.File
	)
	defer func() {
		for _, f := range closeAfterStart {
			f.Close()
		}
	}()
	if req.TTY {
		parent, child, err := utils.NewSockPair("console")
		if err != nil {
			return -1, fmt.Errorf("exec in %s: %w", id, err)
		}
		proc.ConsoleSocket = child
		consoleParent = parent
		closeAfterStart = append(closeAfterStart, child)
		defer parent.Close()
	} else {
		// Callers may pass one writer for both streams: serialise the two copiers (and keep
		// io.Copy off a bytes.Buffer's ReadFrom, which is not safe from two goroutines).
		var outMu sync.Mutex
		outs := []struct {
			w   io.Writer
			set func(*os.File)
		}{
			{req.Stdout, func(f *os.File) { proc.Stdout = f }},
			{req.Stderr, func(f *os.File) { proc.Stderr = f }},
		}
		for _, o := range outs {
			if o.w == nil {
				continue
			}
			o.w = &lockedWriter{mu: &outMu, w: o.w}
			pr, pw, err := os.Pipe()
			if err != nil {
				return -1, err
			}
			o.set(pw)
			closeAfterStart = append(closeAfterStart, pw)
			copiers.Add(1)
			go func(w io.Writer) {
				defer copiers.Done()
				defer pr.Close()
				io.Copy(w, pr) //nolint:errcheck
			}(o.w)
		}
		if req.Stdin != nil {
			pr, pw, err := os.Pipe()
			if err != nil {
				return -1, err
			}
			proc.Stdin = pr
			closeAfterStart = append(closeAfterStart, pr)
			stdinW = pw
		}
	}

	if err := c.Run(proc); err != nil {
		if stdinW != nil {
			stdinW.Close()
		}
		return -1, fmt.Errorf("exec in %s: %w", id, err)
	}
	for _, f := range closeAfterStart {
		f.Close()
	}
	closeAfterStart = nil

	var master console.Console
	if consoleParent != nil {
		f, err := utils.RecvFile(consoleParent) //nolint:staticcheck // the replacement is internal to runc
		if err != nil {
			proc.Signal(unix.SIGKILL) //nolint:errcheck
			proc.Wait()               //nolint:errcheck
			return -1, fmt.Errorf("exec in %s: receive console: %w", id, err)
		}
		master, err = console.ConsoleFromFile(f)
		if err != nil {
			f.Close()
			proc.Signal(unix.SIGKILL) //nolint:errcheck
			proc.Wait()               //nolint:errcheck
			return -1, fmt.Errorf("exec in %s: console: %w", id, err)
		}
		defer master.Close()
		if req.Stdout != nil {
			copiers.Add(1)
			go func() {
				defer copiers.Done()
				io.Copy(req.Stdout, master) //nolint:errcheck // EIO when the slave side closes
			}()
		}
		if req.Stdin != nil {
			go io.Copy(master, req.Stdin) //nolint:errcheck
		}
		if req.Resize != nil {
			go func() {
				for sz := range req.Resize {
					master.Resize(console.WinSize{Width: sz.Width, Height: sz.Height}) //nolint:errcheck
				}
			}()
		}
	} else if stdinW != nil {
		go func() {
			io.Copy(stdinW, req.Stdin) //nolint:errcheck
			stdinW.Close()
		}()
	}

	waited := make(chan struct{})
	var (
		ps      *os.ProcessState
		waitErr error
	)
	go func() {
		ps, waitErr = proc.Wait()
		close(waited)
	}()
	select {
	case <-waited:
	case <-ctx.Done():
		proc.Signal(unix.SIGKILL) //nolint:errcheck
		<-waited
		drain(&copiers)
		return -1, fmt.Errorf("exec in %s: %w", id, ctx.Err())
	}
	if stdinW != nil {
		stdinW.Close() // unblocks nothing in the process (it is gone); frees the fd
	}
	drain(&copiers)
	if ps == nil {
		var ee *exec.ExitError
		if errors.As(waitErr, &ee) {
			ps = ee.ProcessState
		} else {
			return -1, fmt.Errorf("exec in %s: wait: %w", id, waitErr)
		}
	}
	ws, _ := ps.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return ws.ExitStatus(), nil
}

func drain(wg *sync.WaitGroup) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(execDrain):
	}
}

// lockedWriter serialises writes of several goroutines to one writer.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
