package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/console"
	"github.com/opencontainers/runc/libcontainer/utils"

	"github.com/podrun/podrun/cri"
	"github.com/podrun/podrun/internal/layout"
	"github.com/podrun/podrun/runner"
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

// Exec runs a process in the running container through the exec server (package runner:
// libcontainer Load + Run, Init=false, in podrun-runner): no monitor and no daemon memory
// needed, so it works after a daemon restart. The process gets the container's env, cwd,
// user, groups, capabilities and noNewPrivileges. When ctx ends first the process is killed
// and the error wraps ctx.Err().
func (r *Runtime) Exec(ctx context.Context, id string, req *cri.ExecRequest) (int, error) {
	if req == nil || len(req.Cmd) == 0 {
		return -1, fmt.Errorf("exec in %s: empty command", id)
	}
	if !layout.ValidID(id) {
		return -1, notFound("container", id)
	}
	tmpl, err := r.execTemplate(id)
	if err != nil {
		return -1, fmt.Errorf("exec in %s: %w", id, err)
	}
	proc := *tmpl
	proc.Args = req.Cmd
	proc.Rlimits = nil // already the container's; setting them again needs CAP_SYS_RESOURCE
	var stdio runner.Stdio

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
		stdio.Console = child
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
			{req.Stdout, func(f *os.File) { stdio.Stdout = f }},
			{req.Stderr, func(f *os.File) { stdio.Stderr = f }},
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
				copyPooled(w, pr)
			}(o.w)
		}
		if req.Stdin != nil {
			pr, pw, err := os.Pipe()
			if err != nil {
				return -1, err
			}
			stdio.Stdin = pr
			closeAfterStart = append(closeAfterStart, pr)
			stdinW = pw
		}
	}

	ex, err := r.execs.Start(ctx, id, &proc, stdio)
	if err != nil {
		if stdinW != nil {
			stdinW.Close()
		}
		switch {
		case errors.Is(err, runner.ErrNotFound):
			err = notFound("container", id)
		case errors.Is(err, runner.ErrNotRunning):
			err = cri.ErrNotRunning
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
			ex.Kill()
			ex.Wait() //nolint:errcheck
			return -1, fmt.Errorf("exec in %s: receive console: %w", id, err)
		}
		master, err = console.ConsoleFromFile(f)
		if err != nil {
			f.Close()
			ex.Kill()
			ex.Wait() //nolint:errcheck
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
		ws      syscall.WaitStatus
		waitErr error
	)
	go func() {
		ws, waitErr = ex.Wait()
		close(waited)
	}()
	select {
	case <-waited:
	case <-ctx.Done():
		ex.Kill() // Wait reports the end, or gives up on the server (runner.killWait)
		<-waited
		drain(&copiers)
		return -1, fmt.Errorf("exec in %s: %w", id, ctx.Err())
	}
	if stdinW != nil {
		stdinW.Close() // unblocks nothing in the process (it is gone); frees the fd
	}
	drain(&copiers)
	if waitErr != nil {
		return -1, fmt.Errorf("exec in %s: wait: %w", id, waitErr)
	}
	if ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return ws.ExitStatus(), nil
}

// execTemplate is the process of container id's spec, read once: a container's config.json
// does not change. An exec copies it and sets its args.
func (r *Runtime) execTemplate(id string) (*runner.Process, error) {
	if v, ok := r.execProcs.Load(id); ok {
		return v.(*runner.Process), nil
	}
	spec, err := readSpec(r.p.Container(id))
	if errors.Is(err, os.ErrNotExist) {
		return nil, notFound("container", id)
	}
	if err != nil {
		return nil, err
	}
	p, err := runner.ProcessFromSpec(spec.Process)
	if err != nil {
		return nil, err
	}
	r.execProcs.Store(id, &p)
	return &p, nil
}

func drain(wg *sync.WaitGroup) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(execDrain):
	}
}

// copyBufs are the buffers of the exec output copies: many exec probes a second otherwise
// allocate two 32 KiB buffers each (io.Copy's), most of the daemon's garbage.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 8<<10); return &b }}

// copyPooled copies r to w through a pooled buffer (r wrapped so that neither side's
// ReadFrom/WriteTo picks its own).
func copyPooled(w io.Writer, r io.Reader) {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	io.CopyBuffer(struct{ io.Writer }{w}, struct{ io.Reader }{r}, *bp) //nolint:errcheck
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
