package probe

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/utils/clock"
)

// Event is one probe outcome the kubelet reports as a Kubernetes event on the pod (involved
// object: the container). The pod manager records it as is.
type Event struct {
	PodUID        string
	ContainerID   string
	ContainerName string
	ProbeType     Type
	Type          string // v1.EventTypeWarning
	Reason        string // "Unhealthy" or "ProbeWarning"
	Message       string // "Liveness probe failed: <output>"…
}

// Event reasons, as the kubelet's events package names them.
const (
	ReasonUnhealthy    = "Unhealthy"
	ReasonProbeWarning = "ProbeWarning"
)

// WorkerConfig configures one Worker: one probe type of one container instance.
type WorkerConfig struct {
	Type   Type
	Target Target
	// StartedAt is when the container's process started; initialDelaySeconds counts from it.
	StartedAt time.Time
	Prober    *Prober
	// Results receives this worker's results (the Results of Type).
	Results *Results
	// Startup, for liveness and readiness workers of a container that has a startupProbe, is
	// the startup Results: the worker does not probe until it holds Success for the container.
	Startup *Results
	// OnStarted is called once when a startup worker publishes Success (the manager uses it
	// to run the readiness probe at once, as the kubelet triggers it).
	OnStarted func()
	// Clock defaults to the real clock; tests pass k8s.io/utils/clock/testing.FakeClock.
	Clock clock.WithTicker
	// Record receives the per-attempt events (Unhealthy, ProbeWarning); nil drops them.
	Record func(Event)
	// Jitter delays the first probe by a random part of the period, as the kubelet does after
	// a restart so that re-adopted containers are not all probed at the same instant.
	Jitter bool
}

// Worker probes one container periodically and turns attempts into results: the policy half
// of probing (delays, thresholds, startup gating). A Worker serves one container instance;
// when the container is restarted the caller stops it and starts a new one.
//
//	attempt ──▶ lastResult/resultRun ──(run reaches successThreshold | failureThreshold)──▶ Results.Set
//	liveness/startup Failure published ──▶ on hold (no more probes) until the worker is replaced
type Worker struct {
	cfg     WorkerConfig
	spec    *v1.Probe
	podUID  string
	period  time.Duration
	trigger chan struct{}

	mu         sync.Mutex
	lastResult Result
	resultRun  int
	onHold     bool
	started    bool // startup worker: Success published; probing stops
}

// Probe returns the container's probe of type t (nil when it has none).
func Probe(c *v1.Container, t Type) *v1.Probe {
	if c == nil {
		return nil
	}
	switch t {
	case Liveness:
		return c.LivenessProbe
	case Readiness:
		return c.ReadinessProbe
	case Startup:
		return c.StartupProbe
	}
	return nil
}

// NewWorker returns a worker for cfg, or an error when the container has no probe of that type.
func NewWorker(cfg WorkerConfig) (*Worker, error) {
	spec := Probe(cfg.Target.Container, cfg.Type)
	if spec == nil {
		return nil, fmt.Errorf("container has no %s probe", cfg.Type)
	}
	if cfg.Prober == nil || cfg.Results == nil {
		return nil, fmt.Errorf("%s worker: Prober and Results are required", cfg.Type)
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	w := &Worker{cfg: cfg, spec: spec, period: Period(spec), trigger: make(chan struct{}, 1)}
	if cfg.Target.Pod != nil {
		w.podUID = string(cfg.Target.Pod.UID)
	}
	return w, nil
}

// Period is a probe's periodSeconds, defaulted to 10 s.
func Period(p *v1.Probe) time.Duration {
	if p.PeriodSeconds <= 0 {
		return 10 * time.Second
	}
	return time.Duration(p.PeriodSeconds) * time.Second
}

func thresholds(p *v1.Probe) (success, failure int) {
	success, failure = int(p.SuccessThreshold), int(p.FailureThreshold)
	if success <= 0 {
		success = 1
	}
	if failure <= 0 {
		failure = 3
	}
	return success, failure
}

// initialResult is what a container is taken to be before its first conclusive probe: alive,
// not ready, not started (absent). These are the kubelet's initial values.
func initialResult(t Type) (Result, bool) {
	switch t {
	case Liveness:
		return Success, true
	case Readiness:
		return Failure, true
	}
	return Unknown, false
}

// Trigger asks for a probe now (without waiting for the next period); non-blocking.
func (w *Worker) Trigger() {
	select {
	case w.trigger <- struct{}{}:
	default:
	}
}

// Run probes until ctx ends, then removes the container's result. It publishes the initial
// result first.
func (w *Worker) Run(ctx context.Context) {
	id := w.cfg.Target.ContainerID
	defer w.cfg.Results.Remove(id)
	if r, ok := initialResult(w.cfg.Type); ok {
		if !w.cfg.Results.set(ctx, id, w.podUID, r, "") {
			return
		}
	}
	if w.cfg.Jitter {
		select {
		case <-ctx.Done():
			return
		case <-w.cfg.Clock.After(time.Duration(rand.Float64() * float64(w.period))):
		}
	}
	ticker := w.cfg.Clock.NewTicker(w.period)
	defer ticker.Stop()
	for {
		w.DoProbe(ctx)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C():
		case <-w.trigger:
		}
	}
}

// DoProbe is one tick of the worker: it decides whether to probe, probes, and publishes a
// result when a threshold is reached. Exported for tests and for callers that drive workers
// themselves; not safe to call concurrently with Run.
func (w *Worker) DoProbe(ctx context.Context) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.onHold || ctx.Err() != nil {
		return
	}
	t := &w.cfg.Target
	if w.cfg.Type == Startup && w.started {
		return // the kubelet stops startup probing once the container has started
	}
	if w.cfg.Type != Startup && w.cfg.Startup != nil {
		if r, ok := w.cfg.Startup.Get(t.ContainerID); !ok || r != Success {
			return // liveness and readiness wait for the startup probe
		}
	}
	if w.cfg.Clock.Since(w.cfg.StartedAt) < time.Duration(w.spec.InitialDelaySeconds)*time.Second {
		return
	}

	result, output, err := w.cfg.Prober.Probe(ctx, w.spec, t)
	if ctx.Err() != nil {
		return // stopped mid-probe: the container is going away, its answer means nothing
	}
	if err != nil {
		// The kubelet reports a probe that could not run and throws the attempt away.
		w.record(ReasonUnhealthy, fmt.Sprintf("%s probe errored and resulted in %s state: %s", w.cfg.Type, result, err))
		return
	}
	switch result {
	case Warning:
		w.record(ReasonProbeWarning, fmt.Sprintf("%s probe warning: %s", w.cfg.Type, output))
		result = Success
	case Failure:
		w.record(ReasonUnhealthy, UnhealthyMessage(w.cfg.Type, output))
	case Unknown:
		result = Failure
	}

	if result == w.lastResult {
		w.resultRun++
	} else {
		w.lastResult, w.resultRun = result, 1
	}
	success, failure := thresholds(w.spec)
	if (result == Failure && w.resultRun < failure) || (result == Success && w.resultRun < success) {
		return
	}
	if !w.cfg.Results.set(ctx, t.ContainerID, w.podUID, result, output) {
		return
	}
	if result == Failure && (w.cfg.Type == Liveness || w.cfg.Type == Startup) {
		// The container will be killed: probing it again could only repeat the verdict.
		w.onHold, w.resultRun = true, 0
	}
	if result == Success && w.cfg.Type == Startup {
		w.started = true
		if w.cfg.OnStarted != nil {
			w.cfg.OnStarted()
		}
	}
}

func (w *Worker) record(reason, msg string) {
	if w.cfg.Record == nil {
		return
	}
	name := ""
	if w.cfg.Target.Container != nil {
		name = w.cfg.Target.Container.Name
	}
	w.cfg.Record(Event{
		PodUID: w.podUID, ContainerID: w.cfg.Target.ContainerID, ContainerName: name,
		ProbeType: w.cfg.Type, Type: v1.EventTypeWarning, Reason: reason, Message: msg,
	})
}
