package runtime

import (
	"context"
	"fmt"

	"github.com/podrun/podrun/monitor"
)

// StartContainer lets the created container's init exec the user's process.
func (r *Runtime) StartContainer(ctx context.Context, id string) error {
	rec, err := r.readContainer(id)
	if err != nil {
		return err
	}
	unlock := r.lock(id)
	defer unlock()
	if err := r.monitor(rec.SandboxID).call(ctx, "start", monitor.IDRequest{ID: id}, nil); err != nil {
		return fmt.Errorf("start container %s: %w", id, err)
	}
	return nil
}
