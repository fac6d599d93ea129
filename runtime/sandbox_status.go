package runtime

import (
	"context"
	"os"
	"sort"

	"github.com/podrun/podrun/cri"
	"github.com/podrun/podrun/internal/layout"
	"github.com/podrun/podrun/internal/procstat"
)

// PodSandboxStatus reads sandbox.json and checks that the pause still runs.
func (r *Runtime) PodSandboxStatus(ctx context.Context, id string) (*cri.SandboxStatus, error) {
	st, err := r.readSandbox(id)
	if err != nil {
		return nil, err
	}
	if st.State == cri.SandboxReady && !r.pauseRunning(st) {
		st.State = cri.SandboxNotReady
		st.Pid = 0
	}
	return st, nil
}

// pauseRunning reports whether the sandbox's pause runs (or is being started), from the pid
// and start time the monitor recorded.
func (r *Runtime) pauseRunning(st *cri.SandboxStatus) bool {
	if st.Starting {
		// Being made by a monitor that reported ready early: live as long as that monitor.
		return st.MonitorPid > 0 && st.MonitorStartTime > 0 && procstat.Alive(st.MonitorPid, st.MonitorStartTime)
	}
	return st.Pid > 0 && st.PidStartTime > 0 && procstat.Alive(st.Pid, st.PidStartTime)
}

// ListPodSandboxes lists every sandbox dir, including half-made ones (NotReady), oldest first.
func (r *Runtime) ListPodSandboxes(ctx context.Context) ([]*cri.SandboxStatus, error) {
	ents, err := os.ReadDir(r.p.SandboxesDir())
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, err
	}
	var out []*cri.SandboxStatus
	for _, e := range ents {
		if !e.IsDir() || !layout.ValidID(e.Name()) {
			continue
		}
		st, err := r.PodSandboxStatus(ctx, e.Name())
		if err != nil {
			continue // removed meanwhile
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, nil
}
