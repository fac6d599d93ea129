package integration

import (
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
)

// restartPolicy decides what happens when a container exits, as the kubelet does: Never
// leaves the pod Succeeded or Failed, OnFailure restarts only failures, Always restarts all.
func TestRestartPolicy(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name, policy, script string
		// wantPhase is the final phase; "" means the container must be restarted instead.
		wantPhase  v1.PodPhase
		wantStatus string
		wantExit   int32
	}{
		{"never-ok", "Never", "exit 0", v1.PodSucceeded, "Completed", 0},
		{"never-fail", "Never", "exit 1", v1.PodFailed, "Error", 1},
		{"onfailure-ok", "OnFailure", "exit 0", v1.PodSucceeded, "Completed", 0},
		{"onfailure-fail", "OnFailure", "exit 1", "", "", 1},
		{"always-ok", "Always", "exit 0", "", "", 0},
	}
	for _, c := range cases {
		e.create(busyboxPod(c.name, c.policy, "sleep 1; "+c.script))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.wantPhase != "" {
				p := e.waitPhase(c.name, c.wantPhase, 30*time.Second)
				cs := containerStatus(p, "main")
				if cs == nil || cs.State.Terminated == nil {
					t.Fatalf("container status %+v, want terminated", cs)
				}
				if cs.State.Terminated.ExitCode != c.wantExit || cs.State.Terminated.Reason != c.wantStatus {
					t.Errorf("terminated = exit %d reason %q, want exit %d reason %q",
						cs.State.Terminated.ExitCode, cs.State.Terminated.Reason, c.wantExit, c.wantStatus)
				}
				if cs.RestartCount != 0 {
					t.Errorf("restartCount = %d, want 0", cs.RestartCount)
				}
				if s := e.statusColumn(c.name); s != c.wantStatus {
					t.Errorf("STATUS = %q, want %q", s, c.wantStatus)
				}
				// Stays there: no restart a second later.
				time.Sleep(1500 * time.Millisecond)
				if p, err := e.getPod(c.name); err != nil || p.Status.Phase != c.wantPhase {
					t.Errorf("phase changed after finishing: %v %v", p.Status.Phase, err)
				}
				return
			}
			p := e.waitFor(c.name, 45*time.Second, "restartCount >= 2", func(p *v1.Pod) bool {
				cs := containerStatus(p, "main")
				return cs != nil && cs.RestartCount >= 2
			})
			if p.Status.Phase != v1.PodRunning {
				t.Errorf("phase = %s while restarting, want Running", p.Status.Phase)
			}
			cs := containerStatus(p, "main")
			if cs.LastTerminationState.Terminated == nil || cs.LastTerminationState.Terminated.ExitCode != c.wantExit {
				t.Errorf("lastState = %+v, want terminated with exit %d", cs.LastTerminationState, c.wantExit)
			}
		})
	}
}
