package integration

import (
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
)

// A liveness failure under restartPolicy Never kills the container for good: the Killing
// message has no ", will be restarted", the pod ends Failed / Error.
func TestLifecycleLivenessNever(t *testing.T) {
	e := newLifecycleEnv(t)
	e.create(strings.Replace(busyboxPod("live-never", "Never", "exec sleep 600"), "    command:",
		"    livenessProbe:\n      exec: {command: [\"false\"]}\n      periodSeconds: 1\n      failureThreshold: 1\n    command:", 1))
	p := e.waitPhase("live-never", v1.PodFailed, 30*time.Second)
	cs := containerStatus(p, "main")
	if cs.State.Terminated == nil || cs.RestartCount != 0 {
		t.Errorf("status %s, want terminated without restart", statusJSON(p))
	}
	if s := e.statusColumn("live-never"); s != "Error" {
		t.Errorf("STATUS %q, want Error", s)
	}
	out := e.describeHas("live-never", 5*time.Second, "Container main failed liveness probe")
	if strings.Contains(out, "will be restarted") {
		t.Errorf("Never pod: Killing says the container will be restarted:\n%s", out)
	}
}

// The sleep and httpGet hook handlers: a preStop sleep delays the stop signal by its
// seconds; a postStart httpGet to a closed port fails the container.
func TestLifecycleHookHandlers(t *testing.T) {
	e := newLifecycleEnv(t)
	e.create(`apiVersion: v1
kind: Pod
metadata:
  name: prestop-sleep
spec:
  terminationGracePeriodSeconds: 10
  containers:
  - name: main
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done"]
    lifecycle:
      preStop:
        sleep: {seconds: 2}
`)
	e.create(`apiVersion: v1
kind: Pod
metadata:
  name: poststart-http
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sleep", "600"]
    lifecycle:
      postStart:
        httpGet: {path: /ready, port: 8081}
`)
	e.waitRunning("prestop-sleep", 30*time.Second)
	if took := e.deleteTimed("prestop-sleep", 15*time.Second); took < 1900*time.Millisecond || took > 6*time.Second {
		t.Errorf("preStop sleep 2 s: pod gone after %v, want ≈2 s", took)
	}
	e.waitPhase("poststart-http", v1.PodFailed, 30*time.Second)
	e.describeHas("poststart-http", 5*time.Second, "FailedPostStartHook", "PostStartHook failed")
}

// ContainersReady and Ready carry the kubelet's reason and message while a container is not
// ready.
func TestLifecycleConditionReasons(t *testing.T) {
	e := newLifecycleEnv(t)
	e.create(strings.Replace(busyboxPod("unready", "Always", "exec sleep 600"), "    command:",
		"    readinessProbe:\n      exec: {command: [\"false\"]}\n      periodSeconds: 1\n    command:", 1))
	e.waitRunning("unready", 30*time.Second)
	p, err := e.getPod("unready")
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range []v1.PodConditionType{v1.ContainersReady, v1.PodReady} {
		c := findCondition(p, typ)
		if c == nil || c.Status != v1.ConditionFalse || c.Reason != "ContainersNotReady" ||
			c.Message != "containers with unready status: [main]" || c.LastTransitionTime.IsZero() {
			t.Errorf("%s = %+v, want False ContainersNotReady \"containers with unready status: [main]\"", typ, c)
		}
	}
	if c := findCondition(p, v1.PodInitialized); c == nil || c.Status != v1.ConditionTrue {
		t.Errorf("Initialized = %+v, want True", c)
	}
}

// A failing init container is retried with back-off unless the pod is Never (then the pod is
// Failed); STATUS shows Init:CrashLoopBackOff / Init:Error as kubectl does.
func TestLifecycleInitRetry(t *testing.T) {
	e := newLifecycleEnv(t, "--backoff-base", "1s", "--backoff-max", "10s")
	pod := func(name, policy string) string {
		return `apiVersion: v1
kind: Pod
metadata:
  name: ` + name + `
spec:
  restartPolicy: ` + policy + `
  terminationGracePeriodSeconds: 1
  initContainers:
  - name: setup
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "exit 4"]
  containers:
  - name: main
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sleep", "600"]
`
	}
	e.create(pod("init-onfailure", "OnFailure"))
	e.create(pod("init-never", "Never"))
	p := e.waitFor("init-onfailure", 30*time.Second, "init retried twice", restartsAtLeast("setup", 2))
	if p.Status.Phase != v1.PodPending {
		t.Errorf("phase %s while the init container is retried, want Pending", p.Status.Phase)
	}
	e.waitColumn("init-onfailure STATUS", func() string { return e.statusColumn("init-onfailure") }, "Init:CrashLoopBackOff", 15*time.Second)
	p = e.waitPhase("init-never", v1.PodFailed, 30*time.Second)
	if cs := containerStatus(p, "setup"); cs.RestartCount != 0 || cs.State.Terminated == nil || cs.State.Terminated.ExitCode != 4 {
		t.Errorf("init-never setup status %+v, want terminated exit 4, no restart", cs)
	}
	if s := e.statusColumn("init-never"); s != "Init:Error" {
		t.Errorf("init-never STATUS %q, want Init:Error", s)
	}
}
