package pod

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/podrun/podrun/cri"
	"github.com/podrun/podrun/probe"
	"golang.org/x/sys/unix"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

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
			if kind == kindSidecar && c.StartupProbe != nil {
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
	reasons, msgs := macWarnings(snap, c, appArmorEnabled(), seLinuxEnabled())
	for i := range reasons {
		w.event(ref, v1.EventTypeWarning, reasons[i], msgs[i])
	}

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
			// The kubelet keeps the handler's output out of the event (it may hold secrets):
			// the detail goes to the log only.
			w.m.log.Warn("postStart hook failed", "pod", w.pod.Namespace+"/"+w.pod.Name, "container", c.Name, "error", err.Error())
			w.event(ref, v1.EventTypeWarning, evFailedPostStartHook, probe.FailedPostStartHookMessage)
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

// readyOnStart is status.started and status.ready of a container that just started: a
// startupProbe gates started, a readinessProbe gates ready (their results come later);
// a run-to-completion init container is never ready while it runs.
func (w *worker) readyOnStart(c *v1.Container, kind containerKind) (started, ready bool) {
	started = c.StartupProbe == nil
	ready = kind != kindInit && started && c.ReadinessProbe == nil
	return started, ready
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
			w.m.log.Warn("preStop hook failed", "pod", w.pod.Namespace+"/"+w.pod.Name, "container", c.Name, "error", err.Error())
			w.event(containerRef(c.Name, isInit), v1.EventTypeWarning, evFailedPreStopHook, probe.FailedPreStopHookMessage)
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
				// Without a readinessProbe a container is ready as soon as it has started
				// (the kubelet's prober manager: no readiness worker → ready once started).
				if c.ReadinessProbe == nil {
					s.Ready = *u.Started
				}
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
