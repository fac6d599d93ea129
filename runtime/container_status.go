package runtime

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/runc/libcontainer"

	"github.com/podrun/podrun/cri"
	"github.com/podrun/podrun/internal/atomicfile"
	"github.com/podrun/podrun/internal/layout"
	"github.com/podrun/podrun/internal/procstat"
	"github.com/podrun/podrun/monitor"
)

func (r *Runtime) readContainer(id string) (*containerRecord, error) {
	if !layout.ValidID(id) {
		return nil, notFound("container", id)
	}
	var rec containerRecord
	if err := atomicfile.ReadJSON(r.p.ContainerFile(id, "container.json"), &rec); err != nil {
		if isNotExist(err) {
			return nil, notFound("container", id)
		}
		return nil, err
	}
	return &rec, nil
}

// containerIDs lists the containers of a sandbox ("" = all) by their container.json.
func (r *Runtime) containerIDs(sandboxID string) ([]string, error) {
	ents, err := os.ReadDir(r.p.ContainersDir())
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if !layout.ValidID(e.Name()) {
			continue
		}
		rec, err := r.readContainer(e.Name())
		if err != nil {
			// A half-made container without its record still belongs to someone: only a
			// listing of all containers shows it.
			if sandboxID == "" {
				out = append(out, e.Name())
			}
			continue
		}
		if sandboxID == "" || rec.SandboxID == sandboxID {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// ContainerStatus combines container.json (daemon), started.json and exit.json (monitor) and
// libcontainer's state. It needs no monitor and no memory of the daemon.
func (r *Runtime) ContainerStatus(ctx context.Context, id string) (*cri.ContainerStatus, error) {
	rec, err := r.readContainer(id)
	if err != nil {
		return nil, err
	}
	st := &cri.ContainerStatus{
		ID: rec.ID, SandboxID: rec.SandboxID, Name: rec.Name, Attempt: rec.Attempt,
		CreatedAt: rec.CreatedAt, Image: rec.Image, ImageID: rec.ImageID, LogPath: rec.LogPath,
		Cgroup: cgroupPathForStatus(rec.CgroupsPath), Rootfs: rec.Rootfs, State: cri.ContainerCreated,
	}
	var exit ExitRecord
	if err := atomicfile.ReadJSON(r.p.ContainerFile(id, "exit.json"), &exit); err == nil {
		applyExit(st, &exit)
		return st, nil
	}
	var start startRecord
	started := atomicfile.ReadJSON(r.p.ContainerFile(id, "started.json"), &start) == nil
	if started && start.StartTime > 0 && procstat.Alive(start.Pid, start.StartTime) {
		// Started, and its init still runs (and is past its exec: no exec fifo left), as
		// libcontainer would say from its state file, which costs far more to read.
		if _, err := os.Stat(filepath.Join(r.p.Runc(), id, "exec.fifo")); errors.Is(err, os.ErrNotExist) {
			st.State, st.StartedAt, st.Pid = cri.ContainerRunning, start.StartedAt, start.Pid
			return st, nil
		}
	}
	c, err := libcontainer.Load(r.p.Runc(), id)
	var lcStatus libcontainer.Status = libcontainer.Stopped
	if err == nil {
		if s, err := c.Status(); err == nil {
			lcStatus = s
		}
		if s, err := c.State(); err == nil && lcStatus != libcontainer.Stopped {
			st.Pid = s.InitProcessPid
		}
	}
	switch {
	case lcStatus != libcontainer.Stopped && started:
		st.State = cri.ContainerRunning
		st.StartedAt = start.StartedAt
	case lcStatus != libcontainer.Stopped:
		st.State = cri.ContainerCreated
	default:
		// The process is gone but exit.json is missing: the monitor is writing it right now,
		// or it died. Read once more, then report what we know.
		if err := atomicfile.ReadJSON(r.p.ContainerFile(id, "exit.json"), &exit); err == nil {
			applyExit(st, &exit)
			return st, nil
		}
		st.StartedAt = start.StartedAt
		st.Pid = 0
		st.State = cri.ContainerUnknown
		var ms monitor.StatusResponse
		if err := r.monitor(rec.SandboxID).call(ctx, "status", monitor.IDRequest{ID: id}, &ms); err == nil {
			if ms.Exit != nil {
				applyExit(st, ms.Exit)
			} else if started {
				// Reaped, exit record being written: still running for the CRI.
				st.State = cri.ContainerRunning
			} else {
				st.State = cri.ContainerCreated
			}
		}
	}
	return st, nil
}

func applyExit(st *cri.ContainerStatus, e *ExitRecord) {
	st.State = cri.ContainerExited
	st.StartedAt = e.StartedAt
	st.FinishedAt = e.FinishedAt
	st.ExitCode = e.ExitCode
	st.Signal = e.Signal
	st.Reason = e.Reason
	st.Message = e.Message
	st.Pid = 0
}

// cgroupPathForStatus is the absolute cgroup dir on a pure v2 host, else the path below each
// v1 hierarchy.
func cgroupPathForStatus(rel string) string {
	if cgroups.IsCgroup2UnifiedMode() {
		return filepath.Join("/sys/fs/cgroup", rel)
	}
	return rel
}

// ListContainers returns the containers of one sandbox ("" = all), oldest first.
func (r *Runtime) ListContainers(ctx context.Context, sandboxID string) ([]*cri.ContainerStatus, error) {
	ids, err := r.containerIDs(sandboxID)
	if err != nil {
		return nil, err
	}
	var out []*cri.ContainerStatus
	for _, id := range ids {
		st, err := r.ContainerStatus(ctx, id)
		if err != nil {
			continue
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, nil
}
