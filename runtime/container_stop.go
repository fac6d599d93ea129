package runtime

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"

	"github.com/podrun/podrun/cri"
	"github.com/podrun/podrun/monitor"
)

// StopContainer sends the stop signal, waits up to timeout, then SIGKILL, and returns when the
// process is gone (its exit record written).
func (r *Runtime) StopContainer(ctx context.Context, id string, timeout time.Duration) error {
	rec, err := r.readContainer(id)
	if err != nil {
		return err
	}
	sig, err := parseSignal(rec.StopSignal)
	if err != nil {
		sig = unix.SIGTERM
	}
	if st, err := r.ContainerStatus(ctx, id); err == nil && st.State == cri.ContainerExited {
		return nil
	}
	if timeout > 0 {
		if err := r.signal(ctx, rec, sig); err != nil {
			return fmt.Errorf("stop container %s: %w", id, err)
		}
		wctx, cancel := context.WithTimeout(ctx, timeout)
		_, err := r.WaitContainer(wctx, id)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("stop container %s: %w", id, ctx.Err())
		}
	}
	if err := r.signal(ctx, rec, unix.SIGKILL); err != nil {
		return fmt.Errorf("stop container %s: %w", id, err)
	}
	if _, err := r.WaitContainer(ctx, id); err != nil {
		return fmt.Errorf("stop container %s: %w", id, err)
	}
	return nil
}

// signal sends sig to the container's init through the monitor, or directly when the monitor
// is gone.
func (r *Runtime) signal(ctx context.Context, rec *containerRecord, sig unix.Signal) error {
	err := r.monitor(rec.SandboxID).call(ctx, "signal", monitor.SignalRequest{ID: rec.ID, Signal: int(sig)}, nil)
	if err == nil || !(errors.Is(err, errMonitorGone) || errors.Is(err, cri.ErrNotFound)) {
		return err
	}
	c, lerr := libcontainer.Load(r.p.Runc(), rec.ID)
	if lerr != nil {
		return nil // no container state: nothing runs
	}
	if err := c.Signal(sig); err != nil && !errors.Is(err, libcontainer.ErrNotRunning) {
		return err
	}
	return nil
}
