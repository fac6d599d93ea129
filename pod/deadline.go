package pod

import (
	"context"
	"time"

	v1 "k8s.io/api/core/v1"
)

// activeDeadline returns a channel that fires when the pod has been active for
// spec.activeDeadlineSeconds since its startTime (nil without a deadline or when finished).
func (w *worker) activeDeadline() (<-chan time.Time, func()) {
	secs := w.pod.Spec.ActiveDeadlineSeconds
	p := w.snapshot()
	if secs == nil || isTerminal(p.Status.Phase) {
		return nil, func() {}
	}
	start := time.Now()
	if p.Status.StartTime != nil {
		start = p.Status.StartTime.Time
	}
	t := time.NewTimer(time.Until(start.Add(time.Duration(*secs) * time.Second)))
	return t.C, func() { t.Stop() }
}

// Status reason and message of a pod killed by its activeDeadlineSeconds (the kubelet's).
const (
	reasonDeadlineExceeded  = "DeadlineExceeded"
	messageDeadlineExceeded = "Pod was active on the node longer than the specified deadline"
)

// deadlineExceeded fails a pod that outlived activeDeadlineSeconds: its containers are
// stopped, the phase becomes Failed with reason DeadlineExceeded, the sandbox is stopped.
func (w *worker) deadlineExceeded(ctx context.Context) {
	w.event(eventRef{}, v1.EventTypeNormal, reasonDeadlineExceeded, messageDeadlineExceeded)
	w.m.update(w.e, func(p *v1.Pod) {
		p.Status.Phase = v1.PodFailed
		p.Status.Reason = reasonDeadlineExceeded
		p.Status.Message = messageDeadlineExceeded
	})
	w.stopRunning(ctx, w.podGrace())
	if id := w.sandboxID(); id != "" {
		_ = w.m.cfg.Runtime.StopPodSandbox(ctx, id)
	}
	w.m.mu.Lock()
	w.e.sandboxReady = false
	w.m.mu.Unlock()
	w.m.update(w.e, func(*v1.Pod) {})
}
