package pod

import (
	"strconv"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

// mustRV is a pod's resourceVersion as a number (0 when unset).
func mustRV(p *v1.Pod) uint64 {
	rv, _ := strconv.ParseUint(p.ResourceVersion, 10, 64)
	return rv
}

// bumpLocked gives the pod a new resourceVersion and tells the watchers.
func (m *Manager) bumpLocked(e *podEntry) {
	m.rv++
	e.pod.ResourceVersion = strconv.FormatUint(m.rv, 10)
	m.notifyLocked(watch.Modified, e.pod.DeepCopy())
}

// update applies fn to the pod's object under the lock, recomputes phase and conditions,
// bumps the resourceVersion, tells the watchers and persists the result.
func (m *Manager) update(e *podEntry, fn func(p *v1.Pod)) {
	m.mu.Lock()
	// After Shutdown nothing is written: the next daemon re-reads the runtime's truth.
	if e.removed || m.ctx.Err() != nil {
		m.mu.Unlock()
		return
	}
	fn(e.pod)
	m.refreshStatusLocked(e)
	m.rv++
	e.pod.ResourceVersion = strconv.FormatUint(m.rv, 10)
	snap := e.pod.DeepCopy()
	e.pendingPod, e.pendingRV = snap, m.rv
	m.notifyLocked(watch.Modified, snap)
	m.mu.Unlock()
	e.wake()
}

// refreshStatusLocked recomputes the derived parts of the status: phase (never leaving a
// terminal phase, as the kubelet), conditions and QoS.
func (m *Manager) refreshStatusLocked(e *podEntry) {
	p := e.pod
	st := &p.Status
	if !isTerminal(st.Phase) {
		phase := podPhase(&p.Spec, st.InitContainerStatuses, st.ContainerStatuses)
		if e.sandboxLost && !isTerminal(phase) {
			phase = v1.PodUnknown
		}
		st.Phase = phase
	}
	if len(st.ContainerStatuses) > 0 {
		st.Conditions = podConditions(conditionsInput{
			Spec:         &p.Spec,
			InitStatuses: st.InitContainerStatuses,
			Statuses:     st.ContainerStatuses,
			Phase:        st.Phase,
			SandboxReady: e.sandboxReady,
		}, st.Conditions, metav1.NewTime(m.now().Truncate(time.Second)))
	}
	st.QOSClass = podQOS(&p.Spec)
}

// event records an event about a pod (or one of its containers) and persists events.json.
func (m *Manager) event(e *podEntry, ref eventRef, typ, reason, msg string) {
	m.mu.Lock()
	if e.removed || m.ctx.Err() != nil {
		m.mu.Unlock()
		return
	}
	e.events = addEvent(e.events, e.pod, m.cfg.NodeName, ref, typ, reason, msg, m.now())
	e.eventSeq++
	evs := make([]v1.Event, len(e.events))
	for i := range e.events {
		e.events[i].DeepCopyInto(&evs[i])
	}
	e.pendingEvents, e.pendingSeq = evs, e.eventSeq
	m.mu.Unlock()
	e.wake()
}

// remove forgets a pod whose every trace is gone and sends DELETED.
func (m *Manager) remove(e *podEntry) {
	m.mu.Lock()
	if e.removed {
		m.mu.Unlock()
		return
	}
	e.removed = true
	close(e.gone)
	p := e.pod
	delete(m.pods, p.UID)
	if m.names[p.Namespace+"/"+p.Name] == p.UID {
		delete(m.names, p.Namespace+"/"+p.Name)
	}
	m.rv++
	p.ResourceVersion = strconv.FormatUint(m.rv, 10)
	m.notifyLocked(watch.Deleted, p.DeepCopy())
	m.mu.Unlock()
}
