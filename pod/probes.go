package pod

import (
	"context"
	"errors"

	"github.com/podrun/podrun/probe"
	v1 "k8s.io/api/core/v1"
)

// Probes runs probes and lifecycle hooks with package probe: it implements Prober and
// ContainerHooks. NewManager uses one when Config.Prober or Config.Hooks is nil.
type Probes struct {
	pr *probe.Prober
}

var (
	_ Prober         = (*Probes)(nil)
	_ ContainerHooks = (*Probes)(nil)
)

// NewProbes returns probes whose exec handlers run through exec (the cri.RuntimeService).
func NewProbes(exec probe.Execer) *Probes {
	return &Probes{pr: &probe.Prober{Exec: exec, Expand: expandStatic}}
}

// expandStatic expands $(VAR) in an exec probe's or hook's command from the container's
// literal env values, as the kubelet does (valueFrom variables are not visible there).
func expandStatic(cmd []string, c *v1.Container) []string {
	vars := map[string]string{}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			vars[e.Name] = expandVars(e.Value, vars)
		}
	}
	return expandList(cmd, vars)
}

func (t ContainerTarget) probeTarget() probe.Target {
	pt := probe.Target{Pod: t.Pod, Container: t.Container, ContainerID: t.ContainerID, PodIP: t.PodIP}
	if pt.PodIP == "" {
		// No pod network yet (or hostNetwork): the pod's own loopback, through its netns.
		pt.PodIP = "127.0.0.1"
		if t.NetNS != "" {
			pt.Dial = probe.NetnsDialContext(t.NetNS)
		}
	}
	return pt
}

// Probe runs the container's startup, liveness and readiness workers until ctx ends.
func (p *Probes) Probe(ctx context.Context, t ContainerTarget, report func(ProbeUpdate)) {
	c := t.Container
	if c.StartupProbe == nil && c.LivenessProbe == nil && c.ReadinessProbe == nil {
		return
	}
	tgt := t.probeTarget()
	record := func(e probe.Event) {
		report(ProbeUpdate{Event: &ProbeEvent{Type: e.Type, Reason: e.Reason, Message: e.Message}})
	}
	var startup, liveness, readiness *probe.Results
	if c.StartupProbe != nil {
		startup = probe.NewResults(probe.Startup, 4)
	}
	base := probe.WorkerConfig{Target: tgt, StartedAt: t.StartedAt, Prober: p.pr, Record: record, Startup: startup}
	var workers []*probe.Worker
	var readinessWorker *probe.Worker
	if c.ReadinessProbe != nil {
		readiness = probe.NewResults(probe.Readiness, 4)
		cfg := base
		cfg.Type, cfg.Results = probe.Readiness, readiness
		if w, err := probe.NewWorker(cfg); err == nil {
			readinessWorker = w
			workers = append(workers, w)
		}
	}
	if c.LivenessProbe != nil {
		liveness = probe.NewResults(probe.Liveness, 4)
		cfg := base
		cfg.Type, cfg.Results = probe.Liveness, liveness
		if w, err := probe.NewWorker(cfg); err == nil {
			workers = append(workers, w)
		}
	}
	if startup != nil {
		cfg := base
		cfg.Type, cfg.Results, cfg.Startup = probe.Startup, startup, nil
		if readinessWorker != nil {
			cfg.OnStarted = readinessWorker.Trigger
		}
		if w, err := probe.NewWorker(cfg); err == nil {
			workers = append(workers, w)
		}
	}
	for _, w := range workers {
		go w.Run(ctx)
	}
	willRestart := t.Pod.Spec.RestartPolicy != v1.RestartPolicyNever || isSidecar(c)
	kill := func(typ probe.Type) {
		g := probe.KillGracePeriod(t.Pod, c, typ)
		report(ProbeUpdate{Kill: true, KillMessage: probe.KillingMessage(c.Name, typ, willRestart), KillGrace: &g})
	}
	for {
		select {
		case <-ctx.Done():
			return
		case u := <-updates(readiness):
			ok := u.Result == probe.Success
			report(ProbeUpdate{Ready: &ok})
		case u := <-updates(liveness):
			if u.Result == probe.Failure {
				kill(probe.Liveness)
			}
		case u := <-updates(startup):
			if u.Result == probe.Success {
				ok := true
				report(ProbeUpdate{Started: &ok})
			} else if u.Result == probe.Failure {
				kill(probe.Startup)
			}
		}
	}
}

// updates is r's channel, or nil (blocks for ever in a select) when there is no such probe.
func updates(r *probe.Results) <-chan probe.Update {
	if r == nil {
		return nil
	}
	return r.Updates()
}

func (p *Probes) PostStart(ctx context.Context, t ContainerTarget) error {
	return p.hook(ctx, t, t.Container.Lifecycle.PostStart)
}

func (p *Probes) PreStop(ctx context.Context, t ContainerTarget) error {
	return p.hook(ctx, t, t.Container.Lifecycle.PreStop)
}

func (p *Probes) hook(ctx context.Context, t ContainerTarget, h *v1.LifecycleHandler) error {
	tgt := t.probeTarget()
	if msg, err := p.pr.RunHook(ctx, h, &tgt); err != nil {
		return errors.New(msg)
	}
	return nil
}
