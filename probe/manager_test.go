package probe

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podrun/podrun/cri"
)

// waitUpdate steps the fake clock until r publishes an update matching pred.
func waitUpdate(t *testing.T, fc *clocktesting.FakeClock, r *Results, pred func(Update) bool) Update {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case u := <-r.Updates():
			if pred(u) {
				return u
			}
		case <-time.After(2 * time.Millisecond):
			fc.Step(100 * time.Millisecond)
		}
	}
	t.Fatalf("no matching %s update", r.Type())
	return Update{}
}

func is(id string, res Result) func(Update) bool {
	return func(u Update) bool { return u.ContainerID == id && u.Result == res }
}

// TestManagerLivenessRestart is the Kubernetes docs' exec-liveness example on a fake clock:
// the file disappears after a while, three failed probes later the liveness result flips to
// Failure (the pod manager then kills and restarts), and the restarted container gets fresh
// workers.
func TestManagerLivenessRestart(t *testing.T) {
	fc := clocktesting.NewFakeClock(time.Now())
	start := fc.Now()
	healthyUntil := start.Add(10 * time.Second)
	e := &fakeExecer{fn: func(context.Context, []string, time.Duration) (*cri.ExecResult, error) {
		if fc.Now().Before(healthyUntil) {
			return &cri.ExecResult{}, nil
		}
		return &cri.ExecResult{ExitCode: 1, Stderr: []byte("cat: can't open '/tmp/healthy': No such file or directory\n")}, nil
	}}
	log := &eventLog{}
	m := NewManager(ManagerConfig{Prober: &Prober{Exec: e}, Clock: fc, Record: log.record})
	defer m.Stop()
	c := &v1.Container{Name: "liveness", LivenessProbe: execProbe(v1.Probe{InitialDelaySeconds: 5, PeriodSeconds: 5})}
	pod := &v1.Pod{ObjectMeta: metaPod()}
	m.AddContainer(Target{Pod: pod, Container: c, ContainerID: "c1"}, start)

	waitUpdate(t, fc, m.Liveness(), is("c1", Success))
	if !m.IsStarted("c1") || !m.IsReady("c1") {
		t.Fatal("a container without startup/readiness probes is started and ready")
	}
	u := waitUpdate(t, fc, m.Liveness(), is("c1", Failure))
	// Healthy until 10 s; failures at 10, 15, 20 s: published at the third.
	if at := fc.Since(start); at < 20*time.Second || at >= 25*time.Second {
		t.Errorf("liveness failure published after %v, want [20s, 25s)", at)
	}
	if u.PodUID != "uid-1" || !strings.Contains(u.Message, "No such file") {
		t.Errorf("update %+v", u)
	}
	if n := len(log.messages()); n != 3 {
		t.Errorf("%d Unhealthy events, want 3: %q", n, log.messages())
	}

	// Restart: a new container ID replaces the workers of the old one.
	healthyUntil = fc.Now().Add(time.Hour)
	m.AddContainer(Target{Pod: pod, Container: c, ContainerID: "c2"}, fc.Now())
	waitUpdate(t, fc, m.Liveness(), is("c2", Success))
	if _, ok := m.Liveness().Get("c1"); ok {
		t.Error("results of the old container kept")
	}
	m.RemovePod("uid-1")
	if _, ok := m.Liveness().Get("c2"); ok || m.IsReady("c2") {
		t.Error("results kept after RemovePod")
	}
}

func TestManagerStartupGatesReadiness(t *testing.T) {
	fc := clocktesting.NewFakeClock(time.Now())
	start := fc.Now()
	var early atomic.Int32 // liveness probes run before startup succeeded
	var m *Manager
	e := &fakeExecer{fn: func(_ context.Context, cmd []string, _ time.Duration) (*cri.ExecResult, error) {
		switch cmd[0] {
		case "startup":
			if fc.Since(start) < 30*time.Second {
				return &cri.ExecResult{ExitCode: 1}, nil
			}
		case "live":
			if r, _ := m.Startup().Get("c1"); r != Success {
				early.Add(1)
			}
		}
		return &cri.ExecResult{}, nil
	}}
	m = NewManager(ManagerConfig{Prober: &Prober{Exec: e}, Clock: fc})
	defer m.Stop()
	cmd := func(s string) v1.ProbeHandler { return v1.ProbeHandler{Exec: &v1.ExecAction{Command: []string{s}}} }
	c := &v1.Container{Name: "app",
		StartupProbe:   &v1.Probe{ProbeHandler: cmd("startup"), PeriodSeconds: 10, FailureThreshold: 30},
		LivenessProbe:  &v1.Probe{ProbeHandler: cmd("live"), PeriodSeconds: 1},
		ReadinessProbe: &v1.Probe{ProbeHandler: cmd("ready"), PeriodSeconds: 60},
	}
	m.AddContainer(Target{Pod: &v1.Pod{ObjectMeta: metaPod()}, Container: c, ContainerID: "c1"}, start)
	waitUpdate(t, fc, m.Readiness(), is("c1", Failure)) // not ready until the first success
	if m.IsStarted("c1") || m.IsReady("c1") {
		t.Fatal("started/ready before the startup probe succeeded")
	}
	waitUpdate(t, fc, m.Startup(), is("c1", Success))
	if early.Load() != 0 {
		t.Fatalf("liveness probed %d times before startup succeeded", early.Load())
	}
	// Readiness runs at once on startup success, not a 60 s period later.
	before := fc.Now()
	waitUpdate(t, fc, m.Readiness(), is("c1", Success))
	if d := fc.Since(before); d > 5*time.Second {
		t.Errorf("readiness became Success %v after startup, want immediately", d)
	}
	if !m.IsStarted("c1") || !m.IsReady("c1") {
		t.Fatal("not started/ready after the probes succeeded")
	}
	m.RemoveContainer("c1")
	if m.IsReady("c1") {
		t.Fatal("ready after RemoveContainer")
	}
}

// TestManagerStopDoesNotBlockOnFullUpdates: nobody drains Updates, yet Stop returns.
func TestManagerStopDoesNotBlockOnFullUpdates(t *testing.T) {
	fc := clocktesting.NewFakeClock(time.Now())
	m := NewManager(ManagerConfig{Prober: &Prober{Exec: exitWith(0, "", "")}, Clock: fc, UpdatesBuffer: 1})
	for _, id := range []string{"a", "b", "c"} {
		c := &v1.Container{Name: id, LivenessProbe: execProbe(v1.Probe{})}
		m.AddContainer(Target{Pod: &v1.Pod{ObjectMeta: metaPod()}, Container: c, ContainerID: id}, fc.Now())
	}
	done := make(chan struct{})
	go func() { m.Stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Stop blocked")
	}
}
