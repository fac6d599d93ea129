package probe

import (
	"context"
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// ManagerConfig configures a Manager.
type ManagerConfig struct {
	Prober *Prober
	// Clock defaults to the real clock.
	Clock clock.WithTicker
	// Record receives the per-attempt Unhealthy / ProbeWarning events; nil drops them.
	Record func(Event)
	// UpdatesBuffer is each Results' channel buffer (default 20, as the kubelet).
	UpdatesBuffer int
	// Jitter spreads the first probe of workers started within one probe period of the
	// manager's creation over that period, as the kubelet does after a restart, so that the
	// containers a restarted daemon re-adopts are not all probed at the same instant.
	Jitter bool
}

// Manager runs the probe workers of every probed container, the kubelet's prober manager:
// the pod manager calls AddContainer when a container starts and RemoveContainer when it
// exits, reads Liveness/Readiness/Startup results and drains their Updates.
type Manager struct {
	cfg                          ManagerConfig
	liveness, readiness, startup *Results
	created                      time.Time

	mu      sync.Mutex
	workers map[string]*containerWorkers // by container ID
}

type containerWorkers struct {
	podUID, name string
	cancel       context.CancelFunc
	done         chan struct{}
	hasStartup   bool
	hasReadiness bool
}

// NewManager returns a Manager with no workers.
func NewManager(cfg ManagerConfig) *Manager {
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.UpdatesBuffer <= 0 {
		cfg.UpdatesBuffer = 20
	}
	return &Manager{
		cfg:       cfg,
		liveness:  NewResults(Liveness, cfg.UpdatesBuffer),
		readiness: NewResults(Readiness, cfg.UpdatesBuffer),
		startup:   NewResults(Startup, cfg.UpdatesBuffer),
		created:   cfg.Clock.Now(),
		workers:   map[string]*containerWorkers{},
	}
}

// Liveness, Readiness and Startup are the result caches; drain each one's Updates().
func (m *Manager) Liveness() *Results  { return m.liveness }
func (m *Manager) Readiness() *Results { return m.readiness }
func (m *Manager) Startup() *Results   { return m.startup }

// AddContainer starts one worker per probe the container declares. startedAt is when its
// process started (initialDelaySeconds counts from it). Workers of an earlier instance of the
// same container (same pod UID and name) are stopped first: a restart replaces them. Adding
// a container ID twice is a no-op.
func (m *Manager) AddContainer(t Target, startedAt time.Time) {
	if t.Container == nil || t.ContainerID == "" {
		return
	}
	podUID := ""
	if t.Pod != nil {
		podUID = string(t.Pod.UID)
	}
	m.mu.Lock()
	if _, ok := m.workers[t.ContainerID]; ok {
		m.mu.Unlock()
		return
	}
	var old []*containerWorkers
	for id, cw := range m.workers {
		if cw.podUID == podUID && cw.name == t.Container.Name {
			old = append(old, cw)
			delete(m.workers, id)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cw := &containerWorkers{podUID: podUID, name: t.Container.Name, cancel: cancel, done: make(chan struct{}),
		hasStartup: t.Container.StartupProbe != nil, hasReadiness: t.Container.ReadinessProbe != nil}
	m.workers[t.ContainerID] = cw
	age := m.cfg.Clock.Since(m.created)
	m.mu.Unlock()
	for _, o := range old {
		o.stop()
	}

	base := WorkerConfig{Target: t, StartedAt: startedAt, Prober: m.cfg.Prober, Clock: m.cfg.Clock, Record: m.cfg.Record}
	jitter := func(p *WorkerConfig) {
		p.Jitter = m.cfg.Jitter && age < Period(Probe(t.Container, p.Type))
	}
	var readiness *Worker
	var ws []*Worker
	if t.Container.ReadinessProbe != nil {
		c := base
		c.Type, c.Results = Readiness, m.readiness
		jitter(&c)
		if cw.hasStartup {
			c.Startup = m.startup
		}
		readiness, _ = NewWorker(c)
		ws = append(ws, readiness)
	}
	if t.Container.LivenessProbe != nil {
		c := base
		c.Type, c.Results = Liveness, m.liveness
		jitter(&c)
		if cw.hasStartup {
			c.Startup = m.startup
		}
		w, _ := NewWorker(c)
		ws = append(ws, w)
	}
	if cw.hasStartup {
		c := base
		c.Type, c.Results = Startup, m.startup
		jitter(&c)
		if readiness != nil {
			c.OnStarted = readiness.Trigger
		}
		w, _ := NewWorker(c)
		ws = append(ws, w)
	}
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.Run(ctx)
		}()
	}
	go func() {
		wg.Wait()
		close(cw.done)
	}()
}

func (cw *containerWorkers) stop() {
	cw.cancel()
	<-cw.done
}

// RemoveContainer stops the container's workers and forgets its results; it returns once
// they have stopped. Call it when the container exits or is removed.
func (m *Manager) RemoveContainer(containerID string) {
	m.mu.Lock()
	cw, ok := m.workers[containerID]
	delete(m.workers, containerID)
	m.mu.Unlock()
	if ok {
		cw.stop()
	}
}

// RemovePod stops the workers of every container of the pod.
func (m *Manager) RemovePod(podUID string) {
	m.mu.Lock()
	var stop []*containerWorkers
	for id, cw := range m.workers {
		if cw.podUID == podUID {
			stop = append(stop, cw)
			delete(m.workers, id)
		}
	}
	m.mu.Unlock()
	for _, cw := range stop {
		cw.stop()
	}
}

// Stop stops every worker.
func (m *Manager) Stop() {
	m.mu.Lock()
	all := m.workers
	m.workers = map[string]*containerWorkers{}
	m.mu.Unlock()
	for _, cw := range all {
		cw.stop()
	}
}

// IsStarted is the container's status.started: true when it has no startupProbe or the
// startup probe succeeded. False for a container the manager does not know.
func (m *Manager) IsStarted(containerID string) bool {
	m.mu.Lock()
	cw, ok := m.workers[containerID]
	m.mu.Unlock()
	if !ok {
		return false
	}
	if !cw.hasStartup {
		return true
	}
	r, ok := m.startup.Get(containerID)
	return ok && r == Success
}

// IsReady is the container's status.ready: with a readinessProbe, its result; without one,
// ready once started (the kubelet's rule). False for a container the manager does not know.
func (m *Manager) IsReady(containerID string) bool {
	m.mu.Lock()
	cw, ok := m.workers[containerID]
	m.mu.Unlock()
	if !ok {
		return false
	}
	if !cw.hasReadiness {
		return m.IsStarted(containerID)
	}
	r, ok := m.readiness.Get(containerID)
	return ok && r == Success
}
