// Package pauseproc starts a pod's pause process: the static podrun binary run as
// "podrun-pause-setup" (Name), whose C constructor (sandbox/pause_setup.c) joins the pod's
// cgroups and namespaces, makes the pause's root and credentials and execs /pause. It is what
// a runc init did for the pause container, without libcontainer: no container state, no
// second Go runtime, a few dozen system calls. It imports only the standard library, x/sys and
// procstat, so that the monitor, which calls it, stays small.
package pauseproc

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/podrun/podrun/internal/procstat"
)

// Name is the argv[0] the setup's constructor answers to (PAUSE_SETUP_NAME in pause_setup.c).
const Name = "podrun-pause-setup"

// Config is how to make a pod's pause.
type Config struct {
	// Binary is the static podrun binary: it runs the setup, and is bind-mounted read-only at
	// /pause, the pause's program.
	Binary string `json:"binary"`
	// Rootfs is the pause's read-only root: a directory holding only an empty "dev" directory
	// and an empty file "pause" (the mount point of Binary).
	Rootfs string `json:"rootfs"`
	// UID is the pause's uid and gid.
	UID int `json:"uid"`
	// OOMScoreAdj is the pause's oom_score_adj, already clamped by the caller to what it may
	// set.
	OOMScoreAdj int `json:"oomScoreAdj"`

	// Net, IPC and UTS are pinned namespaces the pause joins ("": the caller's own).
	Net string `json:"-"`
	IPC string `json:"-"`
	UTS string `json:"-"`
	// NewPID makes the pause PID 1 of a new pid namespace (shareProcessNamespace).
	NewPID bool `json:"-"`
}

// Cgroups is the pause's cgroup: Path below the mount point of every hierarchy in Mounts,
// made where missing, joined by the pause and then by the process Join (0: none).
type Cgroups struct {
	Path   string
	Mounts []CgroupMount
	Join   int
}

// CgroupMount is a hierarchy's mount point; Cpuset marks a v1 cpuset one.
type CgroupMount struct {
	Dir    string
	Cpuset bool
}

// Args is the setup's command line for c, in the cgroups cg (nil: none).
func (c *Config) Args(cg *Cgroups) ([]string, error) {
	switch {
	case c.Binary == "" || c.Binary[0] != '/':
		return nil, fmt.Errorf("pause binary %q is not an absolute path", c.Binary)
	case c.Rootfs == "" || c.Rootfs[0] != '/':
		return nil, fmt.Errorf("pause rootfs %q is not an absolute path", c.Rootfs)
	case c.UID <= 0:
		return nil, fmt.Errorf("pause uid %d: must be above 0", c.UID)
	}
	args := []string{Name}
	if cg != nil && len(cg.Mounts) > 0 {
		if len(cg.Mounts) > 32 {
			return nil, fmt.Errorf("pause: %d cgroup hierarchies, at most 32", len(cg.Mounts))
		}
		rel := strings.Trim(cg.Path, "/")
		if rel == "" || slices.ContainsFunc(strings.Split(rel, "/"), func(e string) bool { return e == "" || e == "." || e == ".." }) {
			return nil, fmt.Errorf("pause cgroup %q: not a cgroup below the hierarchies' roots", cg.Path)
		}
		args = append(args, "cgroup-path="+rel)
		for _, m := range cg.Mounts {
			if m.Dir == "" || m.Dir[0] != '/' {
				return nil, fmt.Errorf("cgroup mount %q is not an absolute path", m.Dir)
			}
			key := "cgroup="
			if m.Cpuset {
				key = "cpuset="
			}
			args = append(args, key+m.Dir)
		}
		if cg.Join > 0 {
			args = append(args, "join="+strconv.Itoa(cg.Join))
		}
	}
	args = append(args, "oom="+strconv.Itoa(c.OOMScoreAdj))
	for _, ns := range [][2]string{{"net", c.Net}, {"ipc", c.IPC}, {"uts", c.UTS}} {
		if ns[1] != "" {
			args = append(args, ns[0]+"="+ns[1])
		}
	}
	args = append(args, "rootfs="+c.Rootfs, "binary="+c.Binary, "uid="+strconv.Itoa(c.UID))
	for _, a := range args {
		if strings.IndexByte(a, 0) >= 0 {
			return nil, fmt.Errorf("pause argument %q holds a NUL byte", a)
		}
	}
	return args, nil
}

// Process is a started pause setup: its pid (the caller's child) and its verdict pipe.
type Process struct {
	Pid     int
	verdict *os.File
}

// Start starts the setup of c, in the cgroups cg (nil: none), in a new mount namespace (and
// pid namespace with NewPID), with stdio on /dev/null; Wait tells when it runs. The caller
// reaps the process.
func Start(c *Config, cg *Cgroups) (*Process, error) {
	args, err := c.Args(cg)
	if err != nil {
		return nil, err
	}
	rd, wr, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	flags := uintptr(unix.CLONE_NEWNS)
	if c.NewPID {
		flags |= unix.CLONE_NEWPID
	}
	cmd := &exec.Cmd{
		Path: c.Binary, Args: args, Env: []string{}, Dir: "/",
		ExtraFiles:  []*os.File{wr}, // fd 3: the verdict
		SysProcAttr: &syscall.SysProcAttr{Cloneflags: flags},
	}
	err = cmd.Start()
	wr.Close()
	if err != nil {
		rd.Close()
		return nil, fmt.Errorf("start pause: %w", err)
	}
	pid := cmd.Process.Pid
	cmd.Process.Release() //nolint:errcheck // the caller reaps it by pid; this drops Go's pidfd of it
	return &Process{Pid: pid, verdict: rd}, nil
}

// Wait returns once the pause runs (nil: /pause was exec'd) or its setup failed (the error
// it reported). A failed setup has exited, or is killed here; either way the caller still
// reaps it.
func (p *Process) Wait() error {
	msg, err := io.ReadAll(p.verdict) // end of file: the exec of /pause closed it, or an exit
	p.verdict.Close()
	if s := strings.TrimSpace(string(msg)); s != "" {
		return errors.New(s)
	}
	if err != nil {
		unix.Kill(p.Pid, unix.SIGKILL) //nolint:errcheck // our unreaped child
		return fmt.Errorf("pause setup: %w", err)
	}
	// Without a word: exec'd, or killed before it could say why (a zombie now: the caller
	// has not reaped it).
	state, _, err := procstat.Stat(p.Pid)
	switch {
	case err != nil:
		return fmt.Errorf("pause setup: %w", err)
	case state == 'Z':
		return errors.New("pause setup: exited without a word")
	}
	return nil
}
