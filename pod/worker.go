package pod

import (
	"context"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// worker runs one pod the way the kubelet's pod worker syncs it:
//
//	sandbox ─▶ volumes ─▶ init containers, one at a time, to completion (sidecars: started)
//	        ─▶ app containers together, each watched and restarted by the restart policy
//	        ─▶ terminal phase: sidecars stopped, sandbox stopped (kept until delete)
//
// A delete request cancels the sync and runs terminate: stop containers within the grace
// period, remove them, the sandbox, the volumes, the logs and the pod directory.
type worker struct {
	m     *Manager
	e     *podEntry
	pod   *v1.Pod // metadata and spec at start; the spec never changes
	adopt bool    // started by Manager.Start: re-adopt what the runtime still runs

	deleteCh chan int64 // grace period in seconds
	graceCh  chan int64 // a shorter grace period for a termination under way
	done     chan struct{}

	children sync.WaitGroup // container goroutines of the sync
	async    sync.WaitGroup // probe runners and kills, waited for before run returns

	mu        sync.Mutex
	stopped   map[string]bool // container IDs the manager itself is stopping (liveness, postStart)
	genCancel context.CancelFunc
	genLost   bool              // the sandbox died under the current generation
	netns     string            // the sandbox's pinned network namespace
	onStarted map[string]func() // sidecars waiting for their startupProbe, by container ID
}

type containerKind int

const (
	kindApp containerKind = iota
	kindInit
	kindSidecar
)

// newWorker is called before e is published (or with m.mu held by nobody else), so it
// reads e.pod without the lock.
func newWorker(m *Manager, e *podEntry, adopt bool) *worker {
	p := e.pod.DeepCopy()
	return &worker{
		m: m, e: e, pod: p, adopt: adopt,
		deleteCh:  make(chan int64, 1),
		graceCh:   make(chan int64, 1),
		done:      make(chan struct{}),
		stopped:   map[string]bool{},
		onStarted: map[string]func(){},
	}
}

func (w *worker) requestDelete(grace int64) {
	select {
	case w.deleteCh <- grace:
	default:
	}
}

func (w *worker) shorten(grace int64) {
	select {
	case <-w.graceCh:
	default:
	}
	w.graceCh <- grace
}

func (w *worker) run(ctx context.Context) {
	defer close(w.done)
	defer w.async.Wait()
	w.m.mu.Lock()
	var pending *int64
	if w.e.pod.DeletionTimestamp != nil {
		g := int64(0)
		if w.e.pod.DeletionGracePeriodSeconds != nil {
			g = *w.e.pod.DeletionGracePeriodSeconds
		}
		pending = &g
	}
	w.m.mu.Unlock()

	if pending == nil {
		syncCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		syncDone := make(chan struct{})
		go func() {
			defer close(syncDone)
			w.sync(syncCtx)
			w.children.Wait()
		}()
		deadline, stopDeadline := w.activeDeadline()
		defer stopDeadline()
		for pending == nil {
			select {
			case <-ctx.Done():
				cancel()
				<-syncDone
				return
			case g := <-w.deleteCh:
				pending = &g
				cancel()
				<-syncDone
			case <-deadline:
				deadline = nil
				cancel()
				<-syncDone
				w.deadlineExceeded(ctx)
			}
		}
	}
	w.terminate(ctx, *pending)
}

// snapshot returns a copy of the pod as it is now.
func (w *worker) snapshot() *v1.Pod {
	w.m.mu.Lock()
	defer w.m.mu.Unlock()
	return w.e.pod.DeepCopy()
}

func (w *worker) sandboxID() string {
	w.m.mu.Lock()
	defer w.m.mu.Unlock()
	return w.e.rt.SandboxID
}

// containerStatus returns a copy of one container's status.
func (w *worker) containerStatus(name string, init bool) v1.ContainerStatus {
	w.m.mu.Lock()
	defer w.m.mu.Unlock()
	list := w.e.pod.Status.ContainerStatuses
	if init {
		list = w.e.pod.Status.InitContainerStatuses
	}
	if s, ok := findStatus(list, name); ok {
		return *s.DeepCopy()
	}
	return v1.ContainerStatus{Name: name}
}

// setStatus changes one container's status and publishes the pod.
func (w *worker) setStatus(name string, init bool, fn func(s *v1.ContainerStatus)) {
	w.m.update(w.e, func(p *v1.Pod) {
		list := p.Status.ContainerStatuses
		if init {
			list = p.Status.InitContainerStatuses
		}
		if s, ok := findStatus(list, name); ok {
			fn(s)
		}
	})
}

func (w *worker) event(ref eventRef, typ, reason, msg string) {
	w.m.event(w.e, ref, typ, reason, msg)
}

// sleep waits d or until ctx ends; false when ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// failureDelay is the back-off after a failure that must not be retried at once (image
// pulls, sandbox creation, configuration errors): base, doubling, capped.
func (w *worker) failureDelay(b *backoff) time.Duration {
	if b.delay == 0 {
		b.delay = w.m.cfg.BackoffBase
	}
	d := b.delay
	b.delay *= 2
	if b.delay > w.m.cfg.BackoffMax {
		b.delay = w.m.cfg.BackoffMax
	}
	return d
}

// sync runs generations of the pod: a generation lives as long as its sandbox. When the
// sandbox dies under running containers (the pause was killed), the generation is abandoned
// and the next one makes a new sandbox and runs every container again, as the kubelet does
// after SandboxChanged.
func (w *worker) sync(ctx context.Context) {
	for {
		gen, cancel := context.WithCancel(ctx)
		w.mu.Lock()
		w.genCancel, w.genLost = cancel, false
		w.mu.Unlock()
		w.syncGeneration(gen)
		w.children.Wait()
		cancel()
		w.mu.Lock()
		lost := w.genLost
		w.mu.Unlock()
		if !lost || ctx.Err() != nil {
			return
		}
	}
}

func (w *worker) syncGeneration(ctx context.Context) {
	p := w.snapshot()
	if isTerminal(p.Status.Phase) {
		// A finished pod runs nothing more; its status stays until it is deleted.
		if id := w.sandboxID(); id != "" {
			_ = w.m.cfg.Runtime.StopPodSandbox(ctx, id)
		}
		return
	}
	if p.Status.StartTime == nil || len(p.Status.ContainerStatuses) == 0 {
		now := metav1.NewTime(w.m.now().Truncate(time.Second))
		inits, apps := initialContainerStatuses(&p.Spec)
		w.m.update(w.e, func(p *v1.Pod) {
			p.Status.StartTime = &now
			if w.m.cfg.HostIP != "" {
				p.Status.HostIP = w.m.cfg.HostIP
				p.Status.HostIPs = []v1.HostIP{{IP: w.m.cfg.HostIP}}
			}
			p.Status.InitContainerStatuses = inits
			p.Status.ContainerStatuses = apps
		})
	}

	sandboxID, adopted, ok := w.ensureSandbox(ctx)
	if !ok {
		return
	}
	vols, ok := w.ensureVolumes(ctx)
	if !ok {
		return
	}
	adoptContainers := adopted
	if adopted {
		w.reconcile(ctx, sandboxID)
	}

	spec := &w.pod.Spec
	sidecarCtx, stopSidecars := context.WithCancel(ctx)
	defer stopSidecars()
	var sidecars []string
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		if isSidecar(c) {
			started := make(chan struct{})
			var once sync.Once
			w.children.Add(1)
			go func() {
				defer w.children.Done()
				w.containerLoop(sidecarCtx, sandboxID, c, kindSidecar, vols, adoptContainers, func() { once.Do(func() { close(started) }) })
			}()
			sidecars = append(sidecars, c.Name)
			select {
			case <-started:
			case <-ctx.Done():
				return
			}
			continue
		}
		if !w.containerLoop(ctx, sandboxID, c, kindInit, vols, adoptContainers, nil) {
			if ctx.Err() == nil {
				w.finish(ctx, sandboxID, sidecars, stopSidecars)
			}
			return
		}
	}

	var wg sync.WaitGroup
	for i := range spec.Containers {
		c := &spec.Containers[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.containerLoop(ctx, sandboxID, c, kindApp, vols, adoptContainers, nil)
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return
	}
	w.finish(ctx, sandboxID, sidecars, stopSidecars)
}

// finish ends a pod whose regular containers will not run again: sidecars are stopped
// (reverse order) and, once the phase is terminal, the sandbox is stopped as the kubelet does.
func (w *worker) finish(ctx context.Context, sandboxID string, sidecars []string, stopSidecars context.CancelFunc) {
	stopSidecars()
	for i := len(sidecars) - 1; i >= 0; i-- {
		st := w.containerStatus(sidecars[i], true)
		if st.State.Running != nil && st.ContainerID != "" {
			w.stopContainer(ctx, sidecars[i], kindSidecar, trimID(st.ContainerID), w.podGrace())
		}
	}
	w.children.Wait()
	if p := w.snapshot(); isTerminal(p.Status.Phase) {
		_ = w.m.cfg.Runtime.StopPodSandbox(ctx, sandboxID)
		w.m.mu.Lock()
		w.e.sandboxReady = false
		w.m.mu.Unlock()
		w.m.update(w.e, func(*v1.Pod) {})
	}
}

func (w *worker) podGrace() int64 {
	if g := w.pod.Spec.TerminationGracePeriodSeconds; g != nil {
		return *g
	}
	return defaultGracePeriodSeconds
}
