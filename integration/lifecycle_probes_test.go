package integration

import (
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
)

// The Kubernetes docs' exec-liveness example, scaled down: the file disappears after 3 s,
// three failed `cat` probes later the container is killed and restarted, with the kubelet's
// Unhealthy and Killing events.
func TestLifecycleExecLiveness(t *testing.T) {
	e := newLifecycleEnv(t)
	e.create(`apiVersion: v1
kind: Pod
metadata:
  name: liveness-exec
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: liveness
    image: busybox
    imagePullPolicy: IfNotPresent
    args: ["/bin/sh", "-c", "touch /tmp/healthy; sleep 3; rm -f /tmp/healthy; sleep 600"]
    livenessProbe:
      exec:
        command: ["cat", "/tmp/healthy"]
      initialDelaySeconds: 1
      periodSeconds: 1
`)
	e.waitRunning("liveness-exec", 30*time.Second)
	p := e.waitFor("liveness-exec", 30*time.Second, "restarted by liveness", restartsAtLeast("liveness", 1))
	cs := containerStatus(p, "liveness")
	if lt := cs.LastTerminationState.Terminated; lt == nil || lt.ExitCode != 137 {
		t.Errorf("lastState = %+v, want terminated exit 137 (SIGKILL after 1 s grace: sh ignores TERM as pid 1)", cs.LastTerminationState)
	}
	e.describeHas("liveness-exec", 10*time.Second,
		"Unhealthy", "Liveness probe failed: cat: can't open '/tmp/healthy': No such file or directory",
		"Killing", "Container liveness failed liveness probe, will be restarted")
	e.waitFor("liveness-exec", 30*time.Second, "running again", func(p *v1.Pod) bool {
		cs := containerStatus(p, "liveness")
		return cs != nil && cs.State.Running != nil && cs.RestartCount >= 1
	})
	if s := e.statusColumn("liveness-exec"); s != "Running" {
		t.Errorf("STATUS = %q after the restart, want Running", s)
	}
}

// An httpGet liveness probe on the demoapp: POST "FAIL" to /livez makes it answer 506 and the
// container is restarted.
func TestLifecycleHTTPLiveness(t *testing.T) {
	e := newLifecycleEnv(t)
	e.loadImage("demoapp")
	e.create(`apiVersion: v1
kind: Pod
metadata:
  name: liveness-http
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: demo
    image: ikubernetes/demoapp:v1.0
    imagePullPolicy: IfNotPresent
    ports:
    - name: http
      containerPort: 80
    livenessProbe:
      httpGet:
        path: /livez
        port: http
        httpHeaders:
        - name: X-Probe
          value: podrun
      periodSeconds: 1
      failureThreshold: 2
`)
	e.waitRunning("liveness-http", 30*time.Second)
	time.Sleep(3 * time.Second)
	if p, err := e.getPod("liveness-http"); err != nil || containerStatus(p, "demo").RestartCount != 0 {
		t.Fatalf("restarted while healthy: %v %s", err, statusJSON(p))
	}
	// The POST's own answer is already the 506 (wget exits 1): only the new state matters.
	e.podrun("exec", "liveness-http", "-c", "demo", "--", "wget", "-q", "-O-", "--post-data", "FAIL", "http://127.0.0.1/livez")
	e.waitFor("liveness-http", 30*time.Second, "restarted by http liveness", restartsAtLeast("demo", 1))
	e.describeHas("liveness-http", 10*time.Second,
		"Liveness probe failed: HTTP probe failed with statuscode: 506",
		"Container demo failed liveness probe, will be restarted")
	// The new container starts healthy (the state was in the old process): no more restarts.
	e.waitFor("liveness-http", 30*time.Second, "running again", func(p *v1.Pod) bool {
		cs := containerStatus(p, "demo")
		return cs != nil && cs.State.Running != nil
	})
	time.Sleep(3 * time.Second)
	if p, _ := e.getPod("liveness-http"); containerStatus(p, "demo").RestartCount != 1 {
		t.Errorf("restartCount = %d after recovery, want 1", containerStatus(p, "demo").RestartCount)
	}
}

// A tcpSocket readiness probe follows a listener started and stopped inside the pod:
// READY 0/1 → 1/1 → 0/1, with the Ready condition.
func TestLifecycleTCPReadiness(t *testing.T) {
	e := newLifecycleEnv(t)
	e.create(`apiVersion: v1
kind: Pod
metadata:
  name: ready-tcp
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: srv
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "while :; do if [ -e /tmp/serve ]; then nc -ll -p 8080 -e true & pid=$!; while [ -e /tmp/serve ]; do sleep 0.2; done; kill $pid; fi; sleep 0.2; done"]
    readinessProbe:
      tcpSocket:
        port: 8080
      periodSeconds: 1
      failureThreshold: 1
`)
	e.waitRunning("ready-tcp", 30*time.Second)
	time.Sleep(2 * time.Second)
	if r := e.readyColumn("ready-tcp"); r != "0/1" {
		t.Errorf("READY = %q with nothing listening, want 0/1", r)
	}
	e.execOut("ready-tcp", "srv", "touch", "/tmp/serve")
	e.waitColumn("READY", func() string { return e.readyColumn("ready-tcp") }, "1/1", 15*time.Second)
	p, _ := e.getPod("ready-tcp")
	if c := findCondition(p, v1.PodReady); c == nil || c.Status != v1.ConditionTrue {
		t.Errorf("Ready condition %+v, want True", c)
	}
	e.execOut("ready-tcp", "srv", "rm", "/tmp/serve")
	e.waitColumn("READY", func() string { return e.readyColumn("ready-tcp") }, "0/1", 15*time.Second)
	p, _ = e.getPod("ready-tcp")
	if c := findCondition(p, v1.ContainersReady); c == nil || c.Status != v1.ConditionFalse {
		t.Errorf("ContainersReady condition %+v, want False", c)
	}
	// The pod IP, or 127.0.0.1 through the pod's netns without a pod network.
	e.describeHas("ready-tcp", 5*time.Second, "Readiness probe failed: dial tcp ", ":8080: connect: connection refused")
	if cs := containerStatus(p, "srv"); cs.RestartCount != 0 {
		t.Errorf("readiness failure restarted the container (%d)", cs.RestartCount)
	}
}

// A startupProbe gates liveness: the liveness probe would fail from the start, but nothing is
// restarted (and nothing is ready) until the startup probe succeeds.
func TestLifecycleStartupGatesLiveness(t *testing.T) {
	e := newLifecycleEnv(t)
	e.create(`apiVersion: v1
kind: Pod
metadata:
  name: startup
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: slow
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sleep", "3600"]
    startupProbe:
      exec: {command: ["cat", "/tmp/started"]}
      periodSeconds: 1
      failureThreshold: 60
    livenessProbe:
      exec: {command: ["cat", "/tmp/alive"]}
      periodSeconds: 1
      failureThreshold: 1
    readinessProbe:
      exec: {command: ["true"]}
      periodSeconds: 1
`)
	e.waitRunning("startup", 30*time.Second)
	time.Sleep(5 * time.Second)
	p, err := e.getPod("startup")
	if err != nil {
		t.Fatal(err)
	}
	cs := containerStatus(p, "slow")
	if cs.RestartCount != 0 {
		t.Fatalf("liveness restarted the container before the startup probe passed: %s", statusJSON(p))
	}
	if cs.Started == nil || *cs.Started || cs.Ready {
		t.Errorf("started=%v ready=%v before the startup probe passed, want false/false", cs.Started, cs.Ready)
	}
	e.execOut("startup", "slow", "touch", "/tmp/started")
	p = e.waitFor("startup", 30*time.Second, "restart by liveness after startup", restartsAtLeast("slow", 1))
	e.describeHas("startup", 5*time.Second, "Liveness probe failed: cat: can't open '/tmp/alive'")
	out, _, _ := e.podrun("describe", "pod", "startup")
	if strings.Contains(out, "Startup probe failed: cat: can't open '/tmp/started'") && !strings.Contains(out, "Unhealthy") {
		t.Errorf("describe: %s", out)
	}
}

// An exec probe that outlives timeoutSeconds is a failure ("command … timed out") and its
// process is killed: no `sleep 5` piles up in the container.
func TestLifecycleProbeTimeout(t *testing.T) {
	e := newLifecycleEnv(t)
	e.create(`apiVersion: v1
kind: Pod
metadata:
  name: slowprobe
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sleep", "3600"]
    readinessProbe:
      exec: {command: ["sleep", "5"]}
      timeoutSeconds: 1
      periodSeconds: 3
      failureThreshold: 1
`)
	e.waitRunning("slowprobe", 30*time.Second)
	e.describeHas("slowprobe", 15*time.Second, `Readiness probe failed: command "sleep 5" timed out`)
	if r := e.readyColumn("slowprobe"); r != "0/1" {
		t.Errorf("READY = %q, want 0/1", r)
	}
	// A probe lives at most 1 s of every 3: sampled over 4 s, never two at once and
	// sometimes none. Unkilled, each would live 5 s and overlap the next.
	maxN, zero := 0, false
	for i := 0; i < 16; i++ {
		out := e.execOut("slowprobe", "app", "ps", "-o", "pid,args")
		n := 0
		for _, l := range strings.Split(out, "\n") {
			f := strings.Fields(l)
			if len(f) == 3 && f[1] == "sleep" && f[2] == "5" {
				n++
			}
		}
		if n > maxN {
			maxN = n
		}
		if n == 0 {
			zero = true
		}
		time.Sleep(250 * time.Millisecond)
	}
	if maxN > 1 || !zero {
		t.Errorf("timed-out probe processes survive: up to %d `sleep 5` at once (none seen at some point: %v)", maxN, zero)
	}
}
