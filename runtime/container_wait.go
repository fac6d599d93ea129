package runtime

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/podrun/podrun/cri"
	"github.com/podrun/podrun/monitor"
)

// WaitContainer long-polls the monitor until the container exited; when the monitor is gone
// it polls exit.json (the monitor wrote it before dying, or the container still runs
// orphaned and will never get one: then it reports the Unknown state once the process is gone).
func (r *Runtime) WaitContainer(ctx context.Context, id string) (*cri.ContainerStatus, error) {
	rec, err := r.readContainer(id)
	if err != nil {
		return nil, err
	}
	for {
		st, err := r.ContainerStatus(ctx, id)
		if err != nil {
			return nil, err
		}
		if st.State == cri.ContainerExited {
			return st, nil
		}
		err = r.monitor(rec.SandboxID).call(ctx, "wait", monitor.IDRequest{ID: id}, &ExitRecord{})
		switch {
		case err == nil:
			continue // exit.json is written: the next status reads it
		case ctx.Err() != nil:
			return nil, fmt.Errorf("wait container %s: %w", id, ctx.Err())
		case errors.Is(err, errMonitorGone), errors.Is(err, cri.ErrNotFound):
			if st.State == cri.ContainerUnknown {
				return st, nil // gone without a record: nobody will ever write one
			}
			select {
			case <-ctx.Done():
				return nil, fmt.Errorf("wait container %s: %w", id, ctx.Err())
			case <-time.After(100 * time.Millisecond):
			}
		default:
			return nil, fmt.Errorf("wait container %s: %w", id, err)
		}
	}
}
