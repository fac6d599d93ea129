package integration

import (
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
)

// Probes run against the live container: readiness gates READY and the Ready condition,
// a failing liveness probe restarts the container.
func TestProbes(t *testing.T) {
	e := newEnv(t)
	e.create(`apiVersion: v1
kind: Pod
metadata:
  name: probed
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sleep", "3600"]
    readinessProbe:
      exec: {command: ["cat", "/tmp/ready"]}
      periodSeconds: 1
      failureThreshold: 1
  - name: dies
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "touch /tmp/alive; exec sleep 3600"]
    livenessProbe:
      exec: {command: ["cat", "/tmp/alive"]}
      periodSeconds: 1
      failureThreshold: 1
`)
	e.waitRunning("probed", 30*time.Second)
	time.Sleep(2 * time.Second)
	p, err := e.getPod("probed")
	if err != nil {
		t.Fatal(err)
	}
	if cs := containerStatus(p, "app"); cs == nil || cs.Ready {
		t.Errorf("app ready before its readiness probe can pass: %+v", cs)
	}
	if c := findCondition(p, v1.PodReady); c == nil || c.Status != v1.ConditionFalse {
		t.Errorf("Ready condition %+v, want False", c)
	}
	e.must("exec", "probed", "-c", "app", "--", "touch", "/tmp/ready")
	e.waitFor("probed", 15*time.Second, "app ready", func(p *v1.Pod) bool {
		cs := containerStatus(p, "app")
		return cs != nil && cs.Ready
	})

	// Break the liveness probe: the container is killed and restarted.
	e.must("exec", "probed", "-c", "dies", "--", "rm", "/tmp/alive")
	e.waitFor("probed", 30*time.Second, "dies restarted by its liveness probe", func(p *v1.Pod) bool {
		cs := containerStatus(p, "dies")
		return cs != nil && cs.RestartCount >= 1
	})
}
