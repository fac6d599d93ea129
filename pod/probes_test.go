package pod

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
)

// newProbedEnv is a test env whose manager runs package probe through the fake's ExecSync.
func newProbedEnv(t *testing.T) *testEnv {
	env := newTestEnv(t)
	env.m.Shutdown()
	pr := NewProbes(env.rt)
	m, err := NewManager(Config{Root: env.root, LogDir: env.logDir, Runtime: env.rt, Images: env.img,
		BackoffBase: 20 * time.Millisecond, BackoffMax: 40 * time.Millisecond, Prober: pr, Hooks: pr})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Shutdown)
	env.m = m
	return env
}

func execProbe(cmd ...string) *v1.Probe {
	return &v1.Probe{ProbeHandler: v1.ProbeHandler{Exec: &v1.ExecAction{Command: cmd}}, PeriodSeconds: 1, FailureThreshold: 1}
}

func TestLivenessFailureRestarts(t *testing.T) {
	env := newProbedEnv(t)
	var healthy atomic.Bool
	env.rt.execCode = func(cmd []string) int {
		if cmd[0] == "live" && !healthy.Load() {
			return 1
		}
		return 0
	}
	p := testPod("live", v1.RestartPolicyAlways, []string{"serve"})
	p.Spec.Containers[0].LivenessProbe = execProbe("live")
	if _, err := env.m.Create(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	got := waitFor(t, env.m, "live", "restart after liveness failure", func(p *v1.Pod) bool {
		s := p.Status.ContainerStatuses
		return len(s) == 1 && s[0].RestartCount >= 1
	})
	healthy.Store(true)
	if lt := got.Status.ContainerStatuses[0].LastTerminationState.Terminated; lt == nil || lt.ExitCode != 143 {
		t.Errorf("lastState = %+v", lt)
	}
	evs, _ := env.m.Events("default", "live")
	var all []string
	for _, e := range evs {
		all = append(all, e.Reason+": "+e.Message)
	}
	joined := strings.Join(all, "\n")
	for _, want := range []string{"Unhealthy: Liveness probe failed: out of live", "Killing: Container c0 failed liveness probe, will be restarted"} {
		if !strings.Contains(joined, want) {
			t.Errorf("missing %q in\n%s", want, joined)
		}
	}
}

func TestReadinessDrivesReady(t *testing.T) {
	env := newProbedEnv(t)
	var ready atomic.Bool
	env.rt.execCode = func(cmd []string) int {
		if ready.Load() {
			return 0
		}
		return 1
	}
	p := testPod("ready", v1.RestartPolicyAlways, []string{"serve"})
	p.Spec.Containers[0].ReadinessProbe = execProbe("ready")
	p.Spec.Containers[0].ReadinessProbe.SuccessThreshold = 1
	if _, err := env.m.Create(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	got := waitFor(t, env.m, "ready", "Running", phaseIs(v1.PodRunning))
	if got.Status.ContainerStatuses[0].Ready || cond(got, v1.PodReady).Status != v1.ConditionFalse {
		t.Errorf("ready before the probe succeeded: %+v", got.Status.ContainerStatuses[0])
	}
	ready.Store(true)
	waitFor(t, env.m, "ready", "Ready", func(p *v1.Pod) bool {
		return cond(p, v1.PodReady).Status == v1.ConditionTrue && p.Status.ContainerStatuses[0].Ready
	})
}

func TestPostStartFailureKills(t *testing.T) {
	env := newProbedEnv(t)
	env.rt.execCode = func(cmd []string) int { return 2 }
	p := testPod("hook", v1.RestartPolicyNever, []string{"serve"})
	p.Spec.Containers[0].Lifecycle = &v1.Lifecycle{PostStart: &v1.LifecycleHandler{Exec: &v1.ExecAction{Command: []string{"setup"}}}}
	if _, err := env.m.Create(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	waitFor(t, env.m, "hook", "Failed", phaseIs(v1.PodFailed))
	evs, _ := env.m.Events("default", "hook")
	var reasons []string
	for _, e := range evs {
		reasons = append(reasons, e.Reason+": "+e.Message)
	}
	joined := strings.Join(reasons, "\n")
	// The kubelet's fixed message: the hook's output stays out of events.
	if !strings.Contains(joined, "FailedPostStartHook: PostStartHook failed") || strings.Contains(joined, "setup") ||
		!strings.Contains(joined, "Killing: FailedPostStartHook") {
		t.Errorf("events:\n%s", joined)
	}
}

func TestPreStopRunsBeforeStop(t *testing.T) {
	env := newProbedEnv(t)
	p := testPod("prestop", v1.RestartPolicyAlways, []string{"serve"})
	p.Spec.Containers[0].Lifecycle = &v1.Lifecycle{PreStop: &v1.LifecycleHandler{Exec: &v1.ExecAction{Command: []string{"drain"}}}}
	if _, err := env.m.Create(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	waitFor(t, env.m, "prestop", "Running", phaseIs(v1.PodRunning))
	if _, err := env.m.Delete(context.Background(), "default", "prestop", DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, env.m, "prestop")
	ops := strings.Join(env.rt.opsCopy(), ",")
	if i, j := strings.Index(ops, "exec c0 drain"), strings.Index(ops, "stop c0"); i < 0 || j < i {
		t.Errorf("preStop not before stop: %s", ops)
	}
}

func TestSidecarStartupProbeGatesApp(t *testing.T) {
	env := newProbedEnv(t)
	var up atomic.Bool
	env.rt.execCode = func(cmd []string) int {
		if up.Load() {
			return 0
		}
		return 1
	}
	p := testPod("side", v1.RestartPolicyNever, []string{"exit", "0", "30ms"})
	always := v1.ContainerRestartPolicyAlways
	startup := execProbe("check")
	startup.FailureThreshold = 100
	p.Spec.InitContainers = []v1.Container{{Name: "proxy", Image: "busybox:1.36", Command: []string{"serve"},
		RestartPolicy: &always, StartupProbe: startup}}
	if _, err := env.m.Create(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	waitFor(t, env.m, "side", "sidecar running", func(p *v1.Pod) bool {
		s := p.Status.InitContainerStatuses
		return len(s) == 1 && s[0].State.Running != nil
	})
	for _, op := range env.rt.opsCopy() {
		if op == "create c0" {
			t.Fatal("app created before the sidecar's startupProbe succeeded")
		}
	}
	up.Store(true)
	// The app completes; with restartPolicy Never the pod succeeds although the sidecar ran,
	// and the sidecar is stopped.
	got := waitFor(t, env.m, "side", "Succeeded, sidecar stopped", func(p *v1.Pod) bool {
		return p.Status.Phase == v1.PodSucceeded && p.Status.InitContainerStatuses[0].State.Terminated != nil
	})
	if !strings.Contains(strings.Join(env.rt.opsCopy(), ","), "stop proxy") {
		t.Errorf("sidecar not stopped: %+v", got.Status.InitContainerStatuses[0])
	}
}

func TestPostStartGatesRunning(t *testing.T) {
	env := newProbedEnv(t)
	release := make(chan struct{})
	env.rt.execCode = func(cmd []string) int {
		if cmd[0] == "hold" {
			<-release
		}
		return 0
	}
	p := testPod("gate", v1.RestartPolicyAlways, []string{"serve"})
	p.Spec.Containers[0].Lifecycle = &v1.Lifecycle{PostStart: &v1.LifecycleHandler{Exec: &v1.ExecAction{Command: []string{"hold"}}}}
	if _, err := env.m.Create(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	got := waitFor(t, env.m, "gate", "container made", func(p *v1.Pod) bool {
		return len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].ContainerID != ""
	})
	if s := got.Status.ContainerStatuses[0]; s.State.Waiting == nil || s.State.Waiting.Reason != reasonContainerCreating || got.Status.Phase != v1.PodPending {
		t.Errorf("during postStart: phase %s, state %+v", got.Status.Phase, s.State)
	}
	close(release)
	waitFor(t, env.m, "gate", "Running", phaseIs(v1.PodRunning))
}

// A container with a startupProbe and no readinessProbe becomes ready when it has started
// (a native sidecar with only a startupProbe counted as not ready for ever before).
func TestStartupWithoutReadinessMakesReady(t *testing.T) {
	env := newProbedEnv(t)
	var started atomic.Bool
	env.rt.execCode = func(cmd []string) int {
		if started.Load() {
			return 0
		}
		return 1
	}
	p := testPod("startup", v1.RestartPolicyAlways, []string{"serve"})
	p.Spec.Containers[0].StartupProbe = execProbe("start")
	p.Spec.Containers[0].StartupProbe.FailureThreshold = 100
	if _, err := env.m.Create(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	got := waitFor(t, env.m, "startup", "Running", phaseIs(v1.PodRunning))
	if cs := got.Status.ContainerStatuses[0]; cs.Ready || (cs.Started != nil && *cs.Started) {
		t.Errorf("ready/started before the startup probe passed: %+v", cs)
	}
	started.Store(true)
	waitFor(t, env.m, "startup", "ready after startup", func(p *v1.Pod) bool {
		cs := p.Status.ContainerStatuses[0]
		return cs.Started != nil && *cs.Started && cs.Ready && cond(p, v1.PodReady).Status == v1.ConditionTrue
	})
}
