package runtime

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"

	"github.com/podrun/podrun/cri"
	"github.com/podrun/podrun/internal/procstat"
)

// StopPodSandbox kills every container of the sandbox and the pause; the sandbox stays (NotReady)
// until RemovePodSandbox. Idempotent.
func (r *Runtime) StopPodSandbox(ctx context.Context, id string) error {
	st, err := r.readSandbox(id)
	if err != nil {
		if errors.Is(err, cri.ErrNotFound) {
			return nil
		}
		return err
	}
	unlock := r.lock(id)
	defer unlock()
	err = r.monitor(id).call(ctx, "stop", struct{}{}, nil)
	if err != nil && !errors.Is(err, errMonitorGone) {
		return fmt.Errorf("stop sandbox %s: %w", id, err)
	}
	if err != nil {
		// No monitor: kill what is left ourselves.
		ctrs, _ := r.containerIDs(id)
		for _, cid := range ctrs {
			killAndWait(r.p.Runc(), cid, 10*time.Second)
		}
		killPause(st, 10*time.Second)
	}
	// A stopped sandbox gives its address back, as the CRI's StopPodSandbox does.
	if err := r.teardownNetwork(ctx, id); err != nil {
		return fmt.Errorf("stop sandbox %s: %w", id, err)
	}
	return nil
}

// killAndWait SIGKILLs a libcontainer container's init and waits until it is gone.
func killAndWait(root, id string, timeout time.Duration) {
	c, err := libcontainer.Load(root, id)
	if err != nil {
		return
	}
	if s, err := c.Status(); err != nil || s == libcontainer.Stopped {
		return
	}
	c.Signal(unix.SIGKILL) //nolint:errcheck
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if s, err := c.Status(); err != nil || s == libcontainer.Stopped {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// killPause SIGKILLs the sandbox's pause, found by the pid and start time its monitor
// recorded, and waits up to timeout for it to exit: a stop when the monitor, its parent, is
// gone. (A removal kills what is left in the pod's infra cgroup, the pause among it.)
func killPause(st *cri.SandboxStatus, timeout time.Duration) {
	if st == nil || st.Pid <= 0 || st.PidStartTime == 0 {
		return
	}
	fd, err := unix.PidfdOpen(st.Pid, 0)
	if err != nil {
		return // gone
	}
	defer unix.Close(fd)
	// Checked once the pidfd is held: the signal goes to the process checked here.
	if !procstat.Alive(st.Pid, st.PidStartTime) {
		return
	}
	if err := unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0); err != nil {
		return
	}
	// A pidfd turns readable when its process exits.
	unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, int(timeout.Milliseconds())) //nolint:errcheck
}
