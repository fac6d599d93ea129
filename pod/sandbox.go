package pod

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/podrun/podrun/cri"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// checkSandbox is called when a container could not be made or started: if the sandbox is
// gone, the generation ends. It reports whether it did.
func (w *worker) checkSandbox(ctx context.Context, sandboxID string) bool {
	sb, err := w.m.cfg.Runtime.PodSandboxStatus(ctx, sandboxID)
	if ctx.Err() != nil || (err == nil && sb.State == cri.SandboxReady) || (err != nil && !errors.Is(err, cri.ErrNotFound)) {
		return false
	}
	w.mu.Lock()
	w.genLost = true
	cancel := w.genCancel
	w.mu.Unlock()
	cancel()
	return true
}

// ensureSandbox re-adopts the pod's sandbox or makes a new one (retrying with back-off).
// adopted is true when the running containers of the old sandbox can be kept.
func (w *worker) ensureSandbox(ctx context.Context) (id string, adopted, ok bool) {
	rt := w.m.cfg.Runtime
	if old := w.sandboxID(); old != "" {
		var bo backoff
		for {
			sb, err := rt.PodSandboxStatus(ctx, old)
			if err == nil && sb.State == cri.SandboxReady {
				w.sandboxUp(sb)
				return old, true, true
			}
			if ctx.Err() != nil {
				return "", false, false
			}
			if err == nil || errors.Is(err, cri.ErrNotFound) {
				break
			}
			// Any other error may be passing: recreating the pod on it would run its
			// containers twice.
			w.m.log.Warn("sandbox status", "pod", w.pod.Namespace+"/"+w.pod.Name, "sandbox", old, "err", err)
			if !sleep(ctx, w.failureDelay(&bo)) {
				return "", false, false
			}
		}
		// The sandbox is gone (node reboot: --state is a tmpfs) or dead.
		if !w.sandboxLost(ctx, old) {
			return "", false, false
		}
	}
	logDir := w.m.podLogDir(w.pod)
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		w.m.log.Error("create pod log dir", "dir", logDir, "err", err)
	}
	var bo backoff
	for {
		// Not cancelled by a delete: a sandbox abandoned half-made (its monitor killed while it
		// starts the pause) leaves an orphan pause, its cgroups and runc state. Creation is
		// bounded (the runtime's ready timeout); once made, cleanup finds the sandbox by pod
		// UID and removes it.
		sb, err := rt.RunPodSandbox(context.WithoutCancel(ctx), &cri.SandboxConfig{Pod: w.snapshot(), LogDirectory: logDir})
		if err == nil {
			w.m.mu.Lock()
			w.e.rt.SandboxID = sb.ID
			rec := w.e.rt
			w.e.pendingRT = &rec
			w.m.mu.Unlock()
			w.e.wake()
			w.sandboxUp(sb)
			return sb.ID, false, true
		}
		if ctx.Err() != nil {
			return "", false, false
		}
		w.event(eventRef{}, v1.EventTypeWarning, evFailedCreateSandbox, fmt.Sprintf(msgFailedCreateSandbox, err))
		if !sleep(ctx, w.failureDelay(&bo)) {
			return "", false, false
		}
	}
}

func (w *worker) sandboxUp(sb *cri.SandboxStatus) {
	w.mu.Lock()
	w.netns = sb.Namespaces["net"]
	w.mu.Unlock()
	w.m.mu.Lock()
	w.e.sandboxReady = true
	w.e.sandboxLost = false
	w.m.mu.Unlock()
	w.m.update(w.e, func(p *v1.Pod) {
		if sb.IP != "" {
			p.Status.PodIP = sb.IP
			p.Status.PodIPs = []v1.PodIP{{IP: sb.IP}}
		}
	})
}

// sandboxLost handles a sandbox that vanished under a pod that was not finished: its
// containers are reported as ended (exit 255, reason Unknown, as after a node reboot) and
// the pod is recreated, except with restartPolicy Never where nothing may run twice: then
// the pod ends. It reports whether a new sandbox should be made.
func (w *worker) sandboxLost(ctx context.Context, old string) bool {
	w.m.mu.Lock()
	w.e.sandboxLost = true
	w.e.sandboxReady = false
	w.m.mu.Unlock()
	never := w.pod.Spec.RestartPolicy == v1.RestartPolicyNever
	ran := false
	now := metav1.NewTime(w.m.now())
	defReason := reasonContainerCreating
	if len(w.pod.Spec.InitContainers) > 0 {
		defReason = reasonPodInitializing
	}
	w.m.update(w.e, func(p *v1.Pod) {
		for _, list := range [][]v1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
			for i := range list {
				s := &list[i]
				if s.ContainerID == "" {
					continue
				}
				ran = true
				term := s.State.Terminated
				if term == nil {
					term = &v1.ContainerStateTerminated{ExitCode: 255, Reason: "Unknown", FinishedAt: now, ContainerID: s.ContainerID}
					if s.State.Running != nil {
						term.StartedAt = s.State.Running.StartedAt
					}
				}
				s.Ready = false
				s.Started = boolPtr(false)
				if never {
					s.State = v1.ContainerState{Terminated: term}
					continue
				}
				s.LastTerminationState = v1.ContainerState{Terminated: term}
				s.State = v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: defReason}}
			}
		}
		if never && ran {
			// Nothing restarts: let the phase become terminal now.
			w.e.sandboxLost = false
		}
	})
	// The old sandbox's leftovers (its containers, its state) go away.
	if cs, err := w.m.cfg.Runtime.ListContainers(ctx, old); err == nil {
		for _, c := range cs {
			_ = w.m.cfg.Runtime.RemoveContainer(ctx, c.ID)
		}
	}
	_ = w.m.cfg.Runtime.StopPodSandbox(ctx, old)
	_ = w.m.cfg.Runtime.RemovePodSandbox(ctx, old)
	if never && ran {
		return false
	}
	w.event(eventRef{}, v1.EventTypeNormal, evSandboxChanged, msgSandboxChanged)
	return true
}

// ensureVolumes sets up the volumes, retrying with back-off (a hostPath may appear later).
func (w *worker) ensureVolumes(ctx context.Context) (map[string]string, bool) {
	var bo backoff
	for {
		vols, err := w.m.setupVolumes(w.pod)
		if err == nil {
			return vols, true
		}
		w.event(eventRef{}, v1.EventTypeWarning, evFailedMount, err.Error())
		if !sleep(ctx, w.failureDelay(&bo)) {
			return nil, false
		}
	}
}

// reconcile makes the statuses of an adopted sandbox agree with what the runtime has: a
// container made just before the daemon stopped may be newer than the persisted status.
// Containers that were created but never started are removed (they are made again).
func (w *worker) reconcile(ctx context.Context, sandboxID string) {
	rt := w.m.cfg.Runtime
	list, err := rt.ListContainers(ctx, sandboxID)
	if err != nil {
		return
	}
	latest := map[string]*cri.ContainerStatus{}
	for _, c := range list {
		if c.State == cri.ContainerCreated {
			_ = rt.RemoveContainer(ctx, c.ID)
			continue
		}
		cur := latest[c.Name]
		if cur == nil || c.Attempt > cur.Attempt || (c.Attempt == cur.Attempt && c.CreatedAt.After(cur.CreatedAt)) {
			latest[c.Name] = c
		}
	}
	now := w.m.now()
	fix := func(list []v1.ContainerStatus, specs []v1.Container, init bool) {
		for i := range specs {
			c := &specs[i]
			s, ok := findStatus(list, c.Name)
			rc := latest[c.Name]
			if !ok || rc == nil || s.ContainerID == containerIDPrefix+rc.ID {
				continue
			}
			if s.ContainerID != "" && rc.Attempt <= int(s.RestartCount) {
				continue // a leftover older than what the status knows
			}
			if prev := s.State.Terminated; prev != nil {
				s.LastTerminationState = v1.ContainerState{Terminated: prev}
			}
			s.ContainerID = containerIDPrefix + rc.ID
			s.RestartCount = int32(rc.Attempt)
			if s.ImageID == "" {
				s.ImageID = rc.ImageID
			}
			kind := kindApp
			if init {
				kind = kindInit
				if isSidecar(c) {
					kind = kindSidecar
				}
			}
			switch rc.State {
			case cri.ContainerRunning:
				started, ready := w.readyOnStart(c, kind)
				s.State = v1.ContainerState{Running: &v1.ContainerStateRunning{StartedAt: metav1.NewTime(rc.StartedAt)}}
				s.Started, s.Ready = boolPtr(started), ready
			default:
				term := terminatedState(rc, rc.Message, now)
				s.State = v1.ContainerState{Terminated: term}
				s.Started, s.Ready = boolPtr(false), kind == kindInit && term.ExitCode == 0
			}
		}
	}
	w.m.update(w.e, func(p *v1.Pod) {
		fix(p.Status.InitContainerStatuses, w.pod.Spec.InitContainers, true)
		fix(p.Status.ContainerStatuses, w.pod.Spec.Containers, false)
	})
}
