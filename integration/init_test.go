package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
)

// Init containers run one at a time, in order, to completion, before the app starts; they
// share the pod's emptyDir volumes with it.
func TestInitContainersOrder(t *testing.T) {
	e := newEnv(t)
	e.create(`apiVersion: v1
kind: Pod
metadata:
  name: initpod
spec:
  terminationGracePeriodSeconds: 1
  initContainers:
  - name: init1
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "sleep 2; echo init1 >> /work/order"]
    volumeMounts:
    - {name: work, mountPath: /work}
  - name: init2
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "sleep 2; echo init2 >> /work/order"]
    volumeMounts:
    - {name: work, mountPath: /work}
  containers:
  - name: app
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "cat /work/order; exec sleep 3600"]
    volumeMounts:
    - {name: work, mountPath: /work}
  volumes:
  - name: work
    emptyDir: {}
`)
	// Record the STATUS column as kubectl shows it while the pod starts.
	var seen []string
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		s := e.statusColumn("initpod")
		if s != "" && (len(seen) == 0 || seen[len(seen)-1] != s) {
			seen = append(seen, s)
		}
		if s == "Running" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("STATUS sequence: %v", seen)
	want := []string{"Init:0/2", "Init:1/2", "Running"}
	at := 0
	for _, s := range seen {
		if at < len(want) && s == want[at] {
			at++
		}
	}
	if at != len(want) {
		t.Errorf("STATUS went %v; want to pass through %v in order", seen, want)
	}
	for _, s := range seen {
		if s == "Error" || strings.HasPrefix(s, "Init:Error") || strings.Contains(s, "CrashLoop") {
			t.Errorf("unexpected STATUS %s in %v", s, seen)
		}
	}

	p := e.waitRunning("initpod", 30*time.Second)
	for _, name := range []string{"init1", "init2"} {
		cs := containerStatus(p, name)
		if cs == nil || cs.State.Terminated == nil || cs.State.Terminated.ExitCode != 0 ||
			cs.State.Terminated.Reason != "Completed" {
			t.Errorf("init container %s status %+v, want terminated Completed exit 0", name, cs)
		}
	}
	i1, i2 := containerStatus(p, "init1"), containerStatus(p, "init2")
	if i1 != nil && i2 != nil && i1.State.Terminated != nil && i2.State.Terminated != nil &&
		i2.State.Terminated.StartedAt.Before(&i1.State.Terminated.FinishedAt) {
		t.Errorf("init2 started (%v) before init1 finished (%v)", i2.State.Terminated.StartedAt, i1.State.Terminated.FinishedAt)
	}
	if c := findCondition(p, v1.PodInitialized); c == nil || c.Status != v1.ConditionTrue {
		t.Errorf("condition Initialized = %+v, want True", c)
	}
	// The app read what the init containers wrote, in order.
	if out := e.must("logs", "initpod", "-c", "app"); strings.TrimSpace(out) != "init1\ninit2" {
		t.Errorf("app log = %q, want \"init1\\ninit2\"", out)
	}
	if out := e.must("exec", "initpod", "-c", "app", "--", "cat", "/work/order"); out != "init1\ninit2\n" {
		t.Errorf("cat /work/order in app = %q", out)
	}
}

func findCondition(p *v1.Pod, typ v1.PodConditionType) *v1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == typ {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

// A failing init container with restartPolicy Never fails the pod; the app never starts.
func TestInitContainerFailureNever(t *testing.T) {
	e := newEnv(t)
	e.create(initFailPod("initfail"))
	p := e.waitPhase("initfail", v1.PodFailed, 30*time.Second)
	if s := e.statusColumn("initfail"); s != "Init:Error" {
		t.Errorf("STATUS = %q, want Init:Error", s)
	}
	if cs := containerStatus(p, "init1"); cs == nil || cs.State.Terminated == nil || cs.State.Terminated.ExitCode != 1 {
		t.Errorf("init1 status %+v, want terminated exit 1", cs)
	}
	if cs := containerStatus(p, "app"); cs != nil && (cs.State.Running != nil || cs.State.Terminated != nil) {
		t.Errorf("app container ran although init failed: %+v", cs)
	}
	// `run --wait` exits non-zero on Failed. The pod fails in its init container, so it never
	// passes through Running (where --wait, following the pod's changes, would return 0: a
	// Running and ready pod is what --wait waits for).
	_, stderr, code := e.podrun("run", "--wait", writeYAML(t, initFailPod("failwait")))
	if code == 0 || !strings.Contains(stderr, "pod/failwait failed") {
		t.Errorf("run --wait of a pod that fails: exit %d, stderr %q; want non-zero and the failure named", code, stderr)
	}
}

// initFailPod is a restartPolicy Never pod whose only init container exits 1.
func initFailPod(name string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  initContainers:
  - name: init1
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "exit 1"]
  containers:
  - name: app
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sleep", "3600"]
`, name)
}
