package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/opencontainers/runc/libcontainer"

	"github.com/podrun/podrun/cri"
	"github.com/podrun/podrun/internal/layout"
	"github.com/podrun/podrun/monitor"
	"github.com/podrun/podrun/runner"
)

// RemoveContainer destroys the container (killing it if it still runs), unmounts its rootfs and
// removes its state; removing a removed container is not an error.
func (r *Runtime) RemoveContainer(ctx context.Context, id string) error {
	if !layout.ValidID(id) {
		return nil
	}
	unlock := r.lock(id)
	defer unlock()
	// The id is dead once removed: drop its lock so the map does not grow forever (a late
	// caller gets a fresh lock and finds nothing, which every verb handles).
	defer r.locks.Delete(id)
	if err := r.removeContainer(ctx, id); err != nil {
		return fmt.Errorf("remove container %s: %w", id, err)
	}
	return nil
}

func (r *Runtime) removeContainer(ctx context.Context, id string) error {
	r.execProcs.Delete(id)
	dir := r.p.Container(id)
	rec, err := r.readContainer(id)
	if err != nil && !errors.Is(err, cri.ErrNotFound) {
		return err
	}
	var errs []error
	if rec != nil {
		err := r.monitor(rec.SandboxID).call(ctx, "remove", monitor.IDRequest{ID: id}, nil)
		if err != nil && !errors.Is(err, errMonitorGone) {
			errs = append(errs, err)
		}
	}
	// Without a monitor (or if it failed), destroy here.
	if c, err := libcontainer.Load(r.p.Runc(), id); err == nil {
		if err := runner.DestroyContainer(c, 10*time.Second); err != nil {
			errs = append(errs, fmt.Errorf("destroy: %w", err))
		}
	} else if errors.Is(err, libcontainer.ErrNotExist) {
		// A state dir without its state.json (a create cut short before libcontainer wrote it)
		// has nothing to destroy: remove the dir itself (nothing when there is no dir). The
		// container's lock, held by every caller, keeps a create of this id from running now.
		if err := os.RemoveAll(filepath.Join(r.p.Runc(), id)); err != nil {
			errs = append(errs, fmt.Errorf("remove libcontainer state: %w", err))
		}
	}
	rootfs := filepath.Join(dir, "rootfs")
	if r.cfg.Rootfs != nil {
		if _, err := os.Stat(dir); err == nil {
			if err := r.cfg.Rootfs.UnmountRootfs(rootfs, r.p.Snapshot(id)); err != nil {
				errs = append(errs, fmt.Errorf("unmount rootfs: %w", err))
			}
		}
	}
	if err := removeDirNoMounts(dir); err != nil {
		errs = append(errs, err)
	}
	if err := os.RemoveAll(r.p.Snapshot(id)); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
