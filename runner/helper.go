// Package runner holds the libcontainer work podrun does outside the daemon's process, in the
// small podrun-runner binary (libcontainer and nothing of the daemon's Kubernetes types, image
// store, network or CLI), so that the container inits libcontainer re-executes from it are
// small too: the monitor's helpers (create, signal, destroy) and the exec server that runs
// the daemon's execs and exec probes. The same code answers `podrun monitor helper …` and
// `podrun runner …` when podrun-runner is not installed beside podrun.
package runner

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/podrun/podrun/internal/layout"
	"github.com/podrun/podrun/monitor/helperproto"
)

type paths = layout.Paths

// The monitor does its libcontainer work (create, signal, destroy; a start is the monitor
// reading the exec fifo itself) in short-lived children, `podrun-runner monitor helper <op> …`,
// the way `runc create` does. Why:
// the monitor lives as long as its pod, and every allocation pattern it ever had stays in its
// memory (the Go heap of the size classes used, their span sets, encoding/json's type
// caches): libcontainer's create alone left about 1 MiB of private memory in every monitor.
// The container's init does not depend on the helper: the helper is not a subreaper, so the
// init's parent is the monitor (the subreaper above it) as soon as the helper exits, and the
// monitor waits for it and owns its stdio as before. The pod's first container's helper is
// started beside the monitor, before the container is asked for (helperproto.NextOp,
// serveNext): a pod's start then waits for no helper's start-up.

type helperResult = helperproto.Result

// helperMain runs one helper operation (`monitor helper <op> …`); it returns the exit code.
// Errors go to stderr.
func helperMain(args []string) int {
	// A helper lives for one operation (the first container's from the monitor's start): it
	// collects nothing unless its heap nears the limit. It inherits the monitor's GOGC=20,
	// with which a create's few MiB of allocations ran several collections.
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(64 << 20)
	if len(args) < 1 {
		fmt.Fprintln(os.Stderr, "helper: no operation")
		return 2
	}
	op := args[0]
	fs := flag.NewFlagSet("monitor helper", flag.ContinueOnError)
	state := fs.String("state", "/run/podrun", "state dir")
	id := fs.String("id", "", "container or sandbox id")
	stdio := fs.String("stdio", "", "create: stdin,stdout,stderr,console socket as fd numbers, -1 for none")
	sig := fs.Int("signal", 0, "signal: the signal")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	logrus.SetOutput(os.Stderr)
	// Errors only: stderr is the monitor's error message when the helper fails.
	logrus.SetLevel(logrus.ErrorLevel)
	if !layout.ValidID(*id) {
		fmt.Fprintf(os.Stderr, "helper: invalid id %q\n", *id)
		return 2
	}
	p := paths{State: *state}
	var err error
	switch op {
	case helperproto.NextOp:
		// --id is the sandbox's; the container's id comes with the request.
		serveNext(p, 3)
	case "create":
		var res *helperResult
		var launch []byte
		var files [4]*os.File
		if launch, err = io.ReadAll(os.Stdin); err == nil {
			if files, err = stdioFiles(*stdio); err == nil {
				res, err = helperCreate(p, *id, launch, files)
			}
		}
		if err == nil {
			err = json.NewEncoder(os.Stdout).Encode(res)
		}
		if err == nil {
			// The monitor goes on at the end of the answer, not at our exit.
			err = os.Stdout.Close()
		}
	case "signal":
		var c *libcontainer.Container
		if c, err = libcontainer.Load(p.Runc(), *id); err == nil {
			if err = c.Signal(unix.Signal(*sig)); errors.Is(err, libcontainer.ErrNotRunning) {
				err = nil
			}
		}
	case "destroy":
		var c *libcontainer.Container
		if c, err = libcontainer.Load(p.Runc(), *id); err == nil {
			err = DestroyContainer(c, 5*time.Second)
		} else if errors.Is(err, libcontainer.ErrNotExist) {
			err = nil
		}
	default:
		err = fmt.Errorf("unknown operation %q", op)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s %s: %v\n", op, *id, err)
		return 1
	}
	return 0
}

// stdioFiles are the descriptors named by --stdio ("stdin,stdout,stderr,console socket", -1
// for none); "" is none at all.
func stdioFiles(stdio string) (files [4]*os.File, err error) {
	if stdio == "" {
		return files, nil
	}
	fds := strings.Split(stdio, ",")
	if len(fds) != 4 {
		return files, fmt.Errorf("bad --stdio %q", stdio)
	}
	for i, s := range fds {
		fd, err := strconv.Atoi(s)
		if err != nil {
			return files, fmt.Errorf("bad --stdio %q", stdio)
		}
		if fd >= 0 {
			files[i] = os.NewFile(uintptr(fd), "stdio"+s)
		}
	}
	return files, nil
}

// helperCreate creates the container described by the launch spec and starts its init, which
// then waits on the exec fifo, with stdin, stdout, stderr and console socket from stdio (nil:
// none).
func helperCreate(p paths, id string, launch []byte, stdio [4]*os.File) (*helperResult, error) {
	var ls LaunchSpec
	if err := json.Unmarshal(launch, &ls); err != nil {
		return nil, fmt.Errorf("launch spec: %w", err)
	}
	if ls.Config == nil {
		return nil, errors.New("launch spec: no config")
	}
	proc := ls.Process.Libcontainer(true)
	if stdio[0] != nil {
		proc.Stdin = stdio[0]
	}
	if stdio[1] != nil {
		proc.Stdout = stdio[1]
	}
	if stdio[2] != nil {
		proc.Stderr = stdio[2]
	}
	if stdio[3] != nil {
		proc.ConsoleSocket = stdio[3]
	}
	c, err := libcontainer.Create(p.Runc(), id, ls.Config)
	if err != nil {
		return nil, err
	}
	err = c.Start(proc)
	var pid int
	if err == nil {
		pid, err = proc.Pid()
	}
	if err != nil {
		DestroyContainer(c, 5*time.Second) //nolint:errcheck
		return nil, fmt.Errorf("start init: %w", err)
	}
	res := &helperResult{Pid: pid}
	if st, err := c.State(); err == nil {
		if p, ok := st.CgroupPaths["memory"]; ok {
			res.CgroupMem = p
		} else {
			res.CgroupMem = st.CgroupPaths[""]
		}
	}
	return res, nil
}

// DestroyContainer kills a libcontainer container that may still run, waits for its init to
// be gone and destroys it (cgroup and state dir).
func DestroyContainer(c *libcontainer.Container, timeout time.Duration) error {
	if st, err := c.Status(); err == nil && st != libcontainer.Stopped {
		c.Signal(unix.SIGKILL) //nolint:errcheck // it may have exited meanwhile
		deadline := time.Now().Add(timeout)
		for time.Now().Before(deadline) {
			if st, err := c.Status(); err != nil || st == libcontainer.Stopped {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return c.Destroy()
}

// Main dispatches the runner's commands (the arguments after the program name): `monitor
// helper <op> …` and `serve …`. It returns the exit code.
func Main(args []string) int {
	switch {
	case len(args) > 1 && args[0] == "monitor" && args[1] == helperproto.HelperArg:
		return helperMain(args[2:])
	case len(args) > 0 && args[0] == "serve":
		return serveMain(args[1:])
	}
	fmt.Fprintln(os.Stderr, "usage: podrun-runner monitor helper <op> … | serve … (started by podrun)")
	return 2
}
