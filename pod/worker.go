package pod

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/podrun/podrun/cri"
	"golang.org/x/sys/unix"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
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
		sb, err := rt.RunPodSandbox(ctx, &cri.SandboxConfig{Pod: w.snapshot(), LogDirectory: logDir})
		if err == nil {
			w.m.mu.Lock()
			w.e.rt.SandboxID = sb.ID
			rec := w.e.rt
			w.m.mu.Unlock()
			if err := w.m.saveRuntime(w.e, w.pod.UID, rec); err != nil {
				w.m.log.Error("persist runtime record", "pod", w.pod.Name, "err", err)
			}
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

// shouldRestart applies the restart policy to a container that exited with code.
func (w *worker) shouldRestart(kind containerKind, code int32) bool {
	switch kind {
	case kindSidecar:
		return true
	case kindInit:
		return code != 0 && w.pod.Spec.RestartPolicy != v1.RestartPolicyNever
	}
	switch w.pod.Spec.RestartPolicy {
	case v1.RestartPolicyAlways:
		return true
	case v1.RestartPolicyOnFailure:
		return code != 0
	}
	return false
}

// containerLoop runs one container until the restart policy says it is done (or ctx ends):
// create, start, wait, restart with back-off. It returns whether the last run exited 0.
// started is called each time the container starts (sidecar gating).
func (w *worker) containerLoop(ctx context.Context, sandboxID string, c *v1.Container, kind containerKind,
	vols map[string]string, adopt bool, started func()) bool {
	isInit := kind != kindApp
	var restartBo, failBo backoff
	var exited *v1.ContainerStateTerminated
	runningID := ""

	if adopt {
		st := w.containerStatus(c.Name, isInit)
		switch {
		case st.State.Running != nil && st.ContainerID != "":
			runningID = trimID(st.ContainerID)
		case st.State.Terminated != nil:
			exited = st.State.Terminated.DeepCopy()
		case st.State.Waiting != nil && st.LastTerminationState.Terminated != nil && st.ContainerID != "":
			// It was backing off when the daemon stopped.
			exited = st.LastTerminationState.Terminated.DeepCopy()
		}
	}

	for {
		if exited != nil {
			if !w.shouldRestart(kind, exited.ExitCode) {
				return exited.ExitCode == 0
			}
			wait := restartBo.next(w.m.cfg.BackoffBase, w.m.cfg.BackoffMax, exited.StartedAt.Time, exited.FinishedAt.Time)
			if remaining := time.Until(exited.FinishedAt.Add(wait)); wait > 0 && remaining > 0 {
				msg := fmt.Sprintf(msgCrashLoop, wait, c.Name, formatPod(w.pod))
				term := exited
				w.event(containerRef(c.Name, isInit), v1.EventTypeWarning, evBackOff,
					fmt.Sprintf(msgBackOffRestart, c.Name, formatPod(w.pod)))
				w.setStatus(c.Name, isInit, func(s *v1.ContainerStatus) {
					s.LastTerminationState = v1.ContainerState{Terminated: term}
					s.State = v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: reasonCrashLoopBackOff, Message: msg}}
					s.Ready = false
				})
				if !sleep(ctx, remaining) {
					return false
				}
			}
			exited = nil
		}
		if runningID == "" {
			id, term, err := w.startContainer(ctx, sandboxID, c, kind, vols)
			if ctx.Err() != nil {
				return false
			}
			if (term != nil || err != nil) && w.checkSandbox(ctx, sandboxID) {
				return false
			}
			if term != nil {
				exited = term
				continue
			}
			if err != nil {
				var ie *imageError
				if errors.As(err, &ie) && ie.reason == reasonErrImagePull {
					d := w.failureDelay(&failBo)
					w.event(containerRef(c.Name, isInit), v1.EventTypeNormal, evBackOff, fmt.Sprintf(msgPullBackOff, c.Image))
					w.event(containerRef(c.Name, isInit), v1.EventTypeWarning, evFailed, "Error: "+reasonImagePullBackOff)
					w.setStatus(c.Name, isInit, func(s *v1.ContainerStatus) {
						s.State = v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: reasonImagePullBackOff,
							Message: fmt.Sprintf(msgPullBackOff, c.Image)}}
					})
					if !sleep(ctx, d) {
						return false
					}
					continue
				}
				if !sleep(ctx, w.failureDelay(&failBo)) {
					return false
				}
				continue
			}
			failBo = backoff{}
			runningID = id
		}
		if started != nil {
			if kind == kindSidecar && c.StartupProbe != nil && w.m.cfg.Prober != nil {
				// A sidecar with a startupProbe gates the next container until it has started.
				w.mu.Lock()
				w.onStarted[runningID] = started
				w.mu.Unlock()
			} else {
				started()
			}
		}
		term := w.watchContainer(ctx, c, kind, runningID)
		runningID = ""
		if term == nil {
			return false
		}
		exited = term
	}
}

type imageError struct {
	reason string
	msg    string
}

func (e *imageError) Error() string { return e.msg }

// ensureImage makes the container's image available by its pull policy, with the kubelet's
// events and waiting reasons.
func (w *worker) ensureImage(ctx context.Context, c *v1.Container, isInit bool) (*cri.Image, error) {
	ref := containerRef(c.Name, isInit)
	img, err := w.m.cfg.Images.ImageStatus(ctx, c.Image)
	present := err == nil
	if present && c.ImagePullPolicy != v1.PullAlways {
		w.event(ref, v1.EventTypeNormal, evPulled, fmt.Sprintf(msgAlreadyPresent, c.Image))
		return img, nil
	}
	if c.ImagePullPolicy == v1.PullNever {
		msg := fmt.Sprintf(msgNeverPull, c.Image)
		w.event(ref, v1.EventTypeWarning, evErrImageNeverPull, msg)
		w.event(ref, v1.EventTypeWarning, evFailed, "Error: "+evErrImageNeverPull)
		w.setStatus(c.Name, isInit, func(s *v1.ContainerStatus) {
			s.State = v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: evErrImageNeverPull, Message: msg}}
		})
		return nil, &imageError{reason: evErrImageNeverPull, msg: msg}
	}
	w.event(ref, v1.EventTypeNormal, evPulling, fmt.Sprintf(msgPulling, c.Image))
	start := time.Now()
	local := img
	img, err = w.m.cfg.Images.PullImage(ctx, c.Image)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		msg := fmt.Sprintf(msgPullFailed, c.Image, err)
		if present && w.m.cfg.LocalFallbackOnPullError {
			w.event(ref, v1.EventTypeWarning, evFailed, msg)
			w.event(ref, v1.EventTypeNormal, evPulled, fmt.Sprintf(msgAlreadyPresent, c.Image))
			return local, nil
		}
		w.event(ref, v1.EventTypeWarning, evFailed, msg)
		w.event(ref, v1.EventTypeWarning, evFailed, "Error: "+reasonErrImagePull)
		w.setStatus(c.Name, isInit, func(s *v1.ContainerStatus) {
			s.State = v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: reasonErrImagePull, Message: msg}}
		})
		return nil, &imageError{reason: reasonErrImagePull, msg: msg}
	}
	d := time.Since(start).Round(time.Millisecond)
	w.event(ref, v1.EventTypeNormal, evPulled, fmt.Sprintf(msgPulled, c.Image, d, d, img.Size))
	return img, nil
}

// configFailure reports an error that keeps a container from being created.
func (w *worker) configFailure(c *v1.Container, isInit bool, reason string, err error) {
	msg := err.Error()
	// Event first: whoever sees the status change finds the event already recorded.
	w.event(containerRef(c.Name, isInit), v1.EventTypeWarning, evFailed, "Error: "+msg)
	w.setStatus(c.Name, isInit, func(s *v1.ContainerStatus) {
		s.State = v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: reason, Message: msg}}
	})
}

// configReasoner is implemented by errors that mean "the container's configuration is
// wrong" (the runtime may return one from CreateContainer).
type configReasoner interface{ ConfigReason() string }

func nodeCap() nodeCapacity {
	var n nodeCapacity
	n.CPU = *resource.NewQuantity(int64(runtime.NumCPU()), resource.DecimalSI)
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) == nil {
		n.Memory = *resource.NewQuantity(int64(si.Totalram)*int64(si.Unit), resource.BinarySI)
	}
	return n
}

// startContainer makes and starts the next attempt of a container. It returns the new ID;
// or term when the container was made but could not start (it then counts as an exit);
// or an error when it could not be made (its waiting reason is already set).
func (w *worker) startContainer(ctx context.Context, sandboxID string, c *v1.Container, kind containerKind,
	vols map[string]string) (string, *v1.ContainerStateTerminated, error) {
	isInit := kind != kindApp
	rt := w.m.cfg.Runtime
	ref := containerRef(c.Name, isInit)

	img, err := w.ensureImage(ctx, c, isInit)
	if err != nil {
		return "", nil, err
	}
	snap := w.snapshot()
	env, err := resolveEnv(snap, c, nodeCap())
	if err != nil {
		w.configFailure(c, isInit, reasonCreateConfigError, err)
		return "", nil, err
	}
	vars := envMap(env)
	mounts, err := containerMounts(c, vols, vars)
	if err != nil {
		w.configFailure(c, isInit, reasonCreateConfigError, err)
		return "", nil, err
	}
	cc := c.DeepCopy()
	cc.Command = expandList(c.Command, vars)
	cc.Args = expandList(c.Args, vars)

	prev := w.containerStatus(c.Name, isInit)
	attempt := int(prev.RestartCount)
	if prev.ContainerID != "" {
		attempt++
	}
	logPath := w.m.containerLogPath(snap, c.Name, attempt)
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		w.configFailure(c, isInit, reasonCreateError, fmt.Errorf("create log dir: %w", err))
		return "", nil, err
	}
	termPath, err := w.m.prepareTerminationLog(snap, c, attempt)
	if err != nil {
		w.configFailure(c, isInit, reasonCreateError, fmt.Errorf("create termination log: %w", err))
		return "", nil, err
	}
	id, err := rt.CreateContainer(ctx, sandboxID, &cri.ContainerConfig{
		Pod: snap, Container: cc, Attempt: attempt, Image: img, Env: env, Mounts: mounts,
		LogPath: logPath, TerminationMessageHostPath: termPath,
	})
	if err != nil {
		if ctx.Err() != nil {
			return "", nil, err
		}
		reason := reasonCreateError
		var cr configReasoner
		if errors.As(err, &cr) {
			reason = cr.ConfigReason()
		}
		w.configFailure(c, isInit, reason, err)
		return "", nil, err
	}
	w.event(ref, v1.EventTypeNormal, evCreated, fmt.Sprintf(msgCreated, c.Name))

	prevTerm := prev.State.Terminated
	if prevTerm == nil {
		prevTerm = prev.LastTerminationState.Terminated
	}
	commit := func(s *v1.ContainerStatus) {
		s.ContainerID = containerIDPrefix + id
		s.Image = c.Image
		s.ImageID = imageRef(img)
		s.RestartCount = int32(attempt)
		if prevTerm != nil {
			s.LastTerminationState = v1.ContainerState{Terminated: prevTerm}
		}
	}
	if err := rt.StartContainer(ctx, id); err != nil {
		if ctx.Err() != nil {
			_ = rt.RemoveContainer(context.WithoutCancel(ctx), id)
			return "", nil, err
		}
		w.event(ref, v1.EventTypeWarning, evFailed, "Error: "+err.Error())
		term := &v1.ContainerStateTerminated{ExitCode: 128, Reason: reasonStartError, Message: err.Error(),
			FinishedAt: metav1.NewTime(w.m.now()), ContainerID: containerIDPrefix + id}
		w.setStatus(c.Name, isInit, func(s *v1.ContainerStatus) {
			commit(s)
			s.State = v1.ContainerState{Terminated: term}
			s.Ready = false
			s.Started = boolPtr(false)
		})
		w.removeOld(ctx, prev.ContainerID)
		return "", term, nil
	}
	w.event(ref, v1.EventTypeNormal, evStarted, fmt.Sprintf(msgStarted, c.Name))
	startedAt := w.m.now()
	if cs, err := rt.ContainerStatus(ctx, id); err == nil && !cs.StartedAt.IsZero() {
		startedAt = cs.StartedAt
	}
	startedOK, ready := w.readyOnStart(c, kind)
	running := func(s *v1.ContainerStatus) {
		commit(s)
		s.State = v1.ContainerState{Running: &v1.ContainerStateRunning{StartedAt: metav1.NewTime(startedAt)}}
		s.Started = boolPtr(startedOK)
		s.Ready = ready
	}
	h := w.m.cfg.Hooks
	postStart := h != nil && c.Lifecycle != nil && c.Lifecycle.PostStart != nil
	if postStart {
		// The container is not Running until its postStart hook has returned.
		w.setStatus(c.Name, isInit, func(s *v1.ContainerStatus) {
			commit(s)
			s.State = v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: reasonContainerCreating}}
			s.Started = boolPtr(false)
			s.Ready = false
		})
	} else {
		w.setStatus(c.Name, isInit, running)
	}
	w.removeOld(ctx, prev.ContainerID)
	if attempt >= 2 {
		// Only the current and the previous attempt are kept (logs -p needs the previous).
		_ = os.Remove(w.m.containerLogPath(snap, c.Name, attempt-2))
		_ = os.Remove(w.m.terminationLogPath(snap, c.Name, attempt-2))
	}
	if postStart {
		err := h.PostStart(ctx, w.target(c, id, startedAt))
		switch {
		case ctx.Err() != nil:
		case err != nil:
			w.event(ref, v1.EventTypeWarning, evFailedPostStartHook, err.Error())
			w.killAsync(ctx, c, isInit, id, w.podGrace(), evFailedPostStartHook)
		default:
			w.setStatus(c.Name, isInit, func(s *v1.ContainerStatus) {
				// Unless the container already ended while the hook ran.
				if s.ContainerID == containerIDPrefix+id && s.State.Terminated == nil {
					running(s)
				}
			})
		}
	}
	return id, nil, nil
}

// readyOnStart is status.started and status.ready of a container that just started: probes
// gate them when there are probes and a prober; without a prober nothing can gate them, so
// a running container counts as started and (unless it is a run-to-completion init
// container) ready.
func (w *worker) readyOnStart(c *v1.Container, kind containerKind) (started, ready bool) {
	started = c.StartupProbe == nil || w.m.cfg.Prober == nil
	ready = kind != kindInit && started && (c.ReadinessProbe == nil || w.m.cfg.Prober == nil)
	return started, ready
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

// removeOld removes the previous (dead) container of an attempt; its log file stays.
func (w *worker) removeOld(ctx context.Context, statusID string) {
	if id := trimID(statusID); id != "" {
		if err := w.m.cfg.Runtime.RemoveContainer(ctx, id); err != nil && !errors.Is(err, cri.ErrNotFound) {
			w.m.log.Warn("remove old container", "id", id, "err", err)
		}
	}
}

// target describes a started container for probes and hooks.
func (w *worker) target(c *v1.Container, id string, startedAt time.Time) ContainerTarget {
	snap := w.snapshot()
	w.mu.Lock()
	netns := w.netns
	w.mu.Unlock()
	return ContainerTarget{Pod: snap, Container: c, ContainerID: id, StartedAt: startedAt,
		PodIP: snap.Status.PodIP, NetNS: netns}
}

// killAsync stops a container the manager decided to kill (liveness or startup probe
// failure, postStart failure): event Killing with msg, preStop, stop signal, SIGKILL after
// grace. Its watcher then sees the exit and applies the restart policy.
func (w *worker) killAsync(ctx context.Context, c *v1.Container, isInit bool, id string, grace int64, msg string) {
	w.mu.Lock()
	if w.stopped[id] {
		w.mu.Unlock()
		return
	}
	w.stopped[id] = true
	w.mu.Unlock()
	w.async.Add(1)
	go func() {
		defer w.async.Done()
		w.event(containerRef(c.Name, isInit), v1.EventTypeNormal, evKilling, msg)
		w.stopWithPreStop(ctx, c, isInit, id, grace)
	}()
}

// stopWithPreStop runs the preStop hook (bounded by the grace period), then stops the
// container with what is left of the grace period.
func (w *worker) stopWithPreStop(ctx context.Context, c *v1.Container, isInit bool, id string, grace int64) {
	start := time.Now()
	total := time.Duration(grace) * time.Second
	if h := w.m.cfg.Hooks; h != nil && grace > 0 && c != nil && c.Lifecycle != nil && c.Lifecycle.PreStop != nil {
		hctx, cancel := context.WithTimeout(ctx, total)
		st := w.containerStatus(c.Name, isInit)
		startedAt := time.Time{}
		if st.State.Running != nil {
			startedAt = st.State.Running.StartedAt.Time
		}
		if err := h.PreStop(hctx, w.target(c, id, startedAt)); err != nil {
			w.event(containerRef(c.Name, isInit), v1.EventTypeWarning, evFailedPreStopHook, err.Error())
		}
		cancel()
	}
	left := total - time.Since(start)
	if left < 0 {
		left = 0
	}
	if err := w.m.cfg.Runtime.StopContainer(ctx, id, left); err != nil && !errors.Is(err, cri.ErrNotFound) && ctx.Err() == nil {
		w.m.log.Warn("stop container", "id", id, "err", err)
	}
}

// watchContainer waits for a started container to exit (running its probes meanwhile) and
// records the exit. It returns nil when ctx ended first.
func (w *worker) watchContainer(ctx context.Context, c *v1.Container, kind containerKind, id string) *v1.ContainerStateTerminated {
	isInit := kind != kindApp
	probeCtx, stopProbes := context.WithCancel(ctx)
	defer stopProbes()
	if pr := w.m.cfg.Prober; pr != nil && kind != kindInit {
		st := w.containerStatus(c.Name, isInit)
		startedAt := time.Now()
		if st.State.Running != nil {
			startedAt = st.State.Running.StartedAt.Time
		}
		w.async.Add(1)
		go func() {
			defer w.async.Done()
			pr.Probe(probeCtx, w.target(c, id, startedAt), func(u ProbeUpdate) { w.applyProbe(ctx, c, isInit, id, u) })
		}()
	}
	cs, err := w.m.cfg.Runtime.WaitContainer(ctx, id)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		// The container vanished without an exit record.
		cs = &cri.ContainerStatus{ID: id, ExitCode: 137, Reason: "ContainerStatusUnknown",
			Message: "The container could not be located when the pod was terminated", FinishedAt: w.m.now()}
	}
	stopProbes()
	st := w.containerStatus(c.Name, isInit)
	if cs.StartedAt.IsZero() && st.State.Running != nil {
		cs.StartedAt = st.State.Running.StartedAt.Time
	}
	snap := w.snapshot()
	msg := cs.Message
	if m := terminationMessage(w.m.terminationLogPath(snap, c.Name, int(st.RestartCount)),
		w.m.containerLogPath(snap, c.Name, int(st.RestartCount)), c.TerminationMessagePolicy, cs.ExitCode); m != "" {
		msg = m
	}
	term := terminatedState(cs, msg, w.m.now())
	w.setStatus(c.Name, isInit, func(s *v1.ContainerStatus) {
		if s.ContainerID != containerIDPrefix+id {
			return
		}
		s.State = v1.ContainerState{Terminated: term}
		s.Ready = kind == kindInit && term.ExitCode == 0
		s.Started = boolPtr(false)
	})
	w.mu.Lock()
	delete(w.stopped, id)
	delete(w.onStarted, id)
	w.mu.Unlock()
	return term
}

// applyProbe records a probe result for the container attempt id.
func (w *worker) applyProbe(ctx context.Context, c *v1.Container, isInit bool, id string, u ProbeUpdate) {
	if u.Started != nil || u.Ready != nil {
		w.setStatus(c.Name, isInit, func(s *v1.ContainerStatus) {
			if s.ContainerID != containerIDPrefix+id || s.State.Running == nil {
				return
			}
			if u.Started != nil {
				s.Started = boolPtr(*u.Started)
			}
			if u.Ready != nil {
				s.Ready = *u.Ready && (s.Started == nil || *s.Started)
			}
		})
	}
	if e := u.Event; e != nil {
		w.event(containerRef(c.Name, isInit), e.Type, e.Reason, e.Message)
	}
	if u.Started != nil && *u.Started {
		w.mu.Lock()
		f := w.onStarted[id]
		delete(w.onStarted, id)
		w.mu.Unlock()
		if f != nil {
			f()
		}
	}
	if u.Kill {
		grace := w.podGrace()
		if u.KillGrace != nil {
			grace = *u.KillGrace
		}
		w.killAsync(ctx, c, isInit, id, grace, u.KillMessage)
	}
}
