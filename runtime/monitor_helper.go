package runtime

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// The monitor does its libcontainer work (create, signal, destroy; a start is the monitor
// reading the exec fifo itself) in short-lived children, `podrun monitor helper <op> …`, the
// way `runc create` does. Why:
// the monitor lives as long as its pod, and every allocation pattern it ever had stays in its
// memory (the Go heap of the size classes used, their span sets, encoding/json's type
// caches): libcontainer's create alone left about 1 MiB of private memory in every monitor.
// The container's init does not depend on the helper: the helper is not a subreaper, so the
// init's parent is the monitor (the subreaper above it) as soon as libcontainer's setup
// processes exit, and the monitor waits for it and owns its stdio as before.

const helperArg = "helper"

// helperResult is what `helper create` prints.
type helperResult struct {
	Pid         int    `json:"pid"`
	CgroupMem   string `json:"cgroupMem,omitempty"` // memory cgroup dir, for the OOM counter
	CgroupsPath string `json:"cgroupsPath"`         // the spec's linux.cgroupsPath
}

// helperMain runs one helper operation; it returns the exit code. Errors go to stderr.
func helperMain(args []string) int {
	if len(args) < 1 {
		fmt.Fprintln(os.Stderr, "helper: no operation")
		return 2
	}
	op := args[0]
	fs := flag.NewFlagSet("monitor helper", flag.ContinueOnError)
	state := fs.String("state", "/run/podrun", "state dir")
	id := fs.String("id", "", "container or sandbox id")
	bundle := fs.String("bundle", "", "create: the bundle (its config.json when stdin has no launch spec)")
	run := fs.Bool("run", false, "create: start the process at once (the pause)")
	stdio := fs.String("stdio", "", "create: stdin,stdout,stderr,console socket as fd numbers, -1 for none")
	sig := fs.Int("signal", 0, "signal: the signal")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	logrus.SetOutput(os.Stderr)
	logrus.SetLevel(logrus.WarnLevel)
	if !validID(*id) {
		fmt.Fprintf(os.Stderr, "helper: invalid id %q\n", *id)
		return 2
	}
	p := paths{state: *state}
	var err error
	switch op {
	case "create":
		var res *helperResult
		res, err = helperCreate(p, *id, *bundle, *stdio, *run)
		if err == nil {
			err = json.NewEncoder(os.Stdout).Encode(res)
		}
	case "signal":
		var c *libcontainer.Container
		if c, err = libcontainer.Load(p.runc(), *id); err == nil {
			if err = c.Signal(unix.Signal(*sig)); errors.Is(err, libcontainer.ErrNotRunning) {
				err = nil
			}
		}
	case "destroy":
		var c *libcontainer.Container
		if c, err = libcontainer.Load(p.runc(), *id); err == nil {
			err = destroyContainer(c, 5*time.Second)
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

func helperCreate(p paths, id, bundle, stdio string, run bool) (*helperResult, error) {
	var ls *launchSpec
	if b, err := readAllStdin(); err != nil {
		return nil, err
	} else if len(bytes.TrimSpace(b)) > 0 {
		ls = &launchSpec{}
		if err := json.Unmarshal(b, ls); err != nil {
			return nil, fmt.Errorf("launch spec: %w", err)
		}
	}
	ls, err := loadLaunch(ls, id, bundle)
	if err != nil {
		return nil, err
	}
	proc := ls.process()
	if stdio != "" {
		fds := strings.Split(stdio, ",")
		if len(fds) != 4 {
			return nil, fmt.Errorf("bad --stdio %q", stdio)
		}
		files := make([]*os.File, 4)
		for i, s := range fds {
			fd, err := strconv.Atoi(s)
			if err != nil {
				return nil, fmt.Errorf("bad --stdio %q", stdio)
			}
			if fd >= 0 {
				files[i] = os.NewFile(uintptr(fd), "stdio"+s)
			}
		}
		if files[0] != nil {
			proc.Stdin = files[0]
		}
		if files[1] != nil {
			proc.Stdout = files[1]
		}
		if files[2] != nil {
			proc.Stderr = files[2]
		}
		if files[3] != nil {
			proc.ConsoleSocket = files[3]
		}
	}
	c, err := libcontainer.Create(p.runc(), id, ls.Config)
	if err != nil {
		return nil, err
	}
	if run {
		err = c.Run(proc)
	} else {
		err = c.Start(proc)
	}
	var pid int
	if err == nil {
		pid, err = proc.Pid()
	}
	if err != nil {
		destroyContainer(c, 5*time.Second) //nolint:errcheck
		return nil, fmt.Errorf("start init: %w", err)
	}
	res := &helperResult{Pid: pid, CgroupsPath: ls.CgroupsPath}
	if st, err := c.State(); err == nil {
		if p, ok := st.CgroupPaths["memory"]; ok {
			res.CgroupMem = p
		} else {
			res.CgroupMem = st.CgroupPaths[""]
		}
	}
	return res, nil
}

func readAllStdin() ([]byte, error) {
	var buf bytes.Buffer
	_, err := buf.ReadFrom(os.Stdin)
	return buf.Bytes(), err
}

// helper runs `podrun monitor helper op --id id args…` with stdin and files (fd 3 on) and
// decodes its answer into out (may be nil). held says the caller holds m.spawnMu (create:
// the new init must be known before the reaper may look); otherwise the helper's own pid is
// made known to the reaper for its life.
func (m *monitor) helper(op, id string, stdin []byte, files []*os.File, args []string, out any, held bool) error {
	argv := append([]string{"monitor", helperArg, op, "--state", m.p.state, "--id", id}, args...)
	cmd := exec.Command("/proc/self/exe", argv...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.ExtraFiles = files
	cmd.Dir = "/"
	if !held {
		m.spawnMu.Lock()
	}
	err := cmd.Start()
	if err == nil {
		m.known[cmd.Process.Pid] = true
	}
	if !held {
		m.spawnMu.Unlock()
	}
	if err != nil {
		return fmt.Errorf("%s %s: start helper: %w", op, id, err)
	}
	waitExited(cmd.Process.Pid)
	err = cmd.Wait()
	if !held {
		m.spawnMu.Lock()
	}
	delete(m.known, cmd.Process.Pid)
	if !held {
		m.spawnMu.Unlock()
	}
	if err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return errors.New(msg)
		}
		return fmt.Errorf("%s %s: helper: %w", op, id, err)
	}
	if out != nil {
		if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
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
