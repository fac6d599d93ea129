package runtime

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"

	"github.com/podrun/podrun/cri"
)

// StopPodSandbox kills every container of the sandbox and the pause; the sandbox stays (NotReady)
// until RemovePodSandbox. Idempotent.
func (r *Runtime) StopPodSandbox(ctx context.Context, id string) error {
	if _, err := r.readSandbox(id); err != nil {
		if errors.Is(err, cri.ErrNotFound) {
			return nil
		}
		return err
	}
	unlock := r.lock(id)
	defer unlock()
	err := r.monitor(id).call(ctx, "stop", struct{}{}, nil)
	if err != nil && !errors.Is(err, errMonitorGone) {
		return fmt.Errorf("stop sandbox %s: %w", id, err)
	}
	if err != nil {
		// No monitor: kill what is left ourselves.
		ctrs, _ := r.containerIDs(id)
		for _, cid := range append(ctrs, id) {
			killAndWait(r.p.Runc(), cid, 10*time.Second)
		}
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
