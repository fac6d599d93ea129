package integration

import (
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
)

// Restart back-off doubles from --backoff-base: the first restart is immediate, then base,
// 2×base, 4×base… Each run of the container appends the host's uptime (10 ms resolution;
// status times are whole seconds) to a hostPath file, so the gaps are the container's own
// start times, not the test's sleeps.
func TestLifecycleBackoffIntervals(t *testing.T) {
	e := newLifecycleEnv(t, "--backoff-base", "200ms", "--backoff-max", "10s")
	dir := hostDir(t)
	e.create(`apiVersion: v1
kind: Pod
metadata:
  name: crasher
spec:
  terminationGracePeriodSeconds: 1
  volumes:
  - name: out
    hostPath: {path: ` + dir + `}
  containers:
  - name: main
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "cut -d' ' -f1 /proc/uptime >> /out/starts; exit 1"]
    volumeMounts: [{name: out, mountPath: /out}]
`)
	// 6 starts: gaps ≈ 0, 0.2, 0.4, 0.8, 1.6 s.
	sawBackOff := false
	e.waitFor("crasher", 30*time.Second, "5 restarts", func(p *v1.Pod) bool {
		cs := containerStatus(p, "main")
		if cs != nil && cs.State.Waiting != nil && cs.State.Waiting.Reason == "CrashLoopBackOff" {
			sawBackOff = true
			want := "restarting failed container=main pod=crasher_default(" + string(p.UID) + ")"
			if !strings.HasPrefix(cs.State.Waiting.Message, "back-off ") || !strings.HasSuffix(cs.State.Waiting.Message, want) {
				t.Errorf("waiting message %q, want back-off <d> %s", cs.State.Waiting.Message, want)
			}
			if cs.LastTerminationState.Terminated == nil || cs.LastTerminationState.Terminated.ExitCode != 1 {
				t.Errorf("lastState not kept while waiting: %+v", cs.LastTerminationState)
			}
		}
		return cs != nil && cs.RestartCount >= 5
	})
	if !sawBackOff {
		t.Errorf("never saw state.waiting CrashLoopBackOff")
	}
	// The sixth start is reported Running once its process was exec'd: its shell may not have
	// written its line yet.
	lines := readLines(t, filepath.Join(dir, "starts"))
	for deadline := time.Now().Add(5 * time.Second); len(lines) < 6 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		lines = readLines(t, filepath.Join(dir, "starts"))
	}
	var starts []float64
	for _, l := range lines {
		f, err := strconv.ParseFloat(l, 64)
		if err != nil {
			t.Fatalf("bad uptime %q", l)
		}
		starts = append(starts, f)
	}
	if len(starts) < 6 {
		t.Fatalf("%d starts, want 6: %v", len(starts), starts)
	}
	var gaps []float64
	for i := 1; i < 6; i++ {
		gaps = append(gaps, starts[i]-starts[i-1])
	}
	t.Logf("gaps between starts (s): %.2f", gaps)
	// A start-to-start gap is the back-off plus one create/start/exit (tens of ms).
	want := []float64{0, 0.2, 0.4, 0.8, 1.6}
	for i, w := range want {
		if gaps[i] < w*0.9 || gaps[i] > w*1.5+0.35 {
			t.Errorf("gap %d = %.2fs, want ≈ %.1fs (gaps %.2f)", i+1, gaps[i], w, gaps)
		}
	}
	if s := e.statusColumn("crasher"); s != "CrashLoopBackOff" && s != "Error" {
		t.Errorf("STATUS = %q, want CrashLoopBackOff (or Error between restart and back-off)", s)
	}
	e.describeHas("crasher", 5*time.Second, "BackOff", "Back-off restarting failed container main in pod crasher_default(")
}

// STATUS shows CrashLoopBackOff for a container in back-off, Error / Completed for finished
// pods, as kubectl; OnFailure restarts failures only, Never nothing, Always everything.
func TestLifecycleRestartPolicyStatus(t *testing.T) {
	e := newLifecycleEnv(t, "--backoff-base", "1s", "--backoff-max", "10s")
	for _, c := range []struct{ name, policy, script string }{
		{"always-ok", "Always", "exit 0"},
		{"always-fail", "Always", "exit 2"},
		{"onfailure-fail", "OnFailure", "exit 2"},
		{"onfailure-ok", "OnFailure", "exit 0"},
		{"never-fail", "Never", "exit 2"},
		{"never-ok", "Never", "exit 0"},
	} {
		e.create(busyboxPod(c.name, c.policy, c.script))
	}
	for _, n := range []string{"always-ok", "always-fail", "onfailure-fail"} {
		// Restarted at once, then in a 1 s back-off, then 2 s: CrashLoopBackOff shows.
		e.waitFor(n, 30*time.Second, "2 restarts", restartsAtLeast("main", 2))
		e.waitColumn(n+" STATUS", func() string { return e.statusColumn(n) }, "CrashLoopBackOff", 10*time.Second)
		if p, _ := e.getPod(n); p.Status.Phase != v1.PodRunning {
			t.Errorf("%s: phase %s while crash-looping, want Running", n, p.Status.Phase)
		}
	}
	for n, want := range map[string]struct {
		phase  v1.PodPhase
		status string
	}{
		"onfailure-ok": {v1.PodSucceeded, "Completed"},
		"never-fail":   {v1.PodFailed, "Error"},
		"never-ok":     {v1.PodSucceeded, "Completed"},
	} {
		p := e.waitPhase(n, want.phase, 30*time.Second)
		if cs := containerStatus(p, "main"); cs.RestartCount != 0 {
			t.Errorf("%s: restartCount %d, want 0", n, cs.RestartCount)
		}
		if s := e.statusColumn(n); s != want.status {
			t.Errorf("%s: STATUS %q, want %q", n, s, want.status)
		}
	}
}

// terminationMessagePath is read into state.terminated.message; FallbackToLogsOnError uses the
// log tail when the file is empty and the container failed, not when it succeeded.
func TestLifecycleTerminationMessage(t *testing.T) {
	e := newLifecycleEnv(t)
	pod := func(name, policy, script string) string {
		return busyboxPod(name, "Never", script) + "    terminationMessagePolicy: " + policy + "\n"
	}
	e.create(pod("msg-file", "File", "printf 'all done' > /dev/termination-log; echo not this; exit 0"))
	e.create(strings.Replace(pod("msg-path", "File", "echo custom > /tmp/why; exit 1"),
		"    terminationMessagePolicy:", "    terminationMessagePath: /tmp/why\n    terminationMessagePolicy:", 1))
	e.create(pod("msg-logs", "FallbackToLogsOnError", "echo first line; echo it broke; exit 3"))
	e.create(pod("msg-logs-ok", "FallbackToLogsOnError", "echo fine; exit 0"))
	e.create(pod("msg-both", "FallbackToLogsOnError", "echo from file > /dev/termination-log; echo from logs; exit 3"))
	for n, want := range map[string]string{
		"msg-file":    "all done",
		"msg-path":    "custom\n",
		"msg-logs":    "first line\nit broke\n",
		"msg-logs-ok": "",
		"msg-both":    "from file\n",
	} {
		p := e.waitFor(n, 30*time.Second, "terminated", func(p *v1.Pod) bool {
			return p.Status.Phase == v1.PodSucceeded || p.Status.Phase == v1.PodFailed
		})
		cs := containerStatus(p, "main")
		if cs.State.Terminated == nil || cs.State.Terminated.Message != want {
			t.Errorf("%s: terminated %+v, want message %q", n, cs.State.Terminated, want)
		}
	}
}

// activeDeadlineSeconds: the pod is killed and Failed with reason DeadlineExceeded.
func TestLifecycleActiveDeadline(t *testing.T) {
	e := newLifecycleEnv(t)
	e.create(strings.Replace(busyboxPod("deadline", "Always", "sleep 600"),
		"  terminationGracePeriodSeconds: 5\n", "  terminationGracePeriodSeconds: 1\n  activeDeadlineSeconds: 2\n", 1))
	start := time.Now()
	p := e.waitPhase("deadline", v1.PodFailed, 30*time.Second)
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("Failed after %v, want ≈ 2 s + 1 s grace", took)
	}
	if p.Status.Reason != "DeadlineExceeded" || !strings.Contains(p.Status.Message, "active") {
		t.Errorf("reason %q message %q, want DeadlineExceeded, \"Pod was active on the node longer than the specified deadline\"", p.Status.Reason, p.Status.Message)
	}
	if s := e.statusColumn("deadline"); s != "DeadlineExceeded" {
		t.Errorf("STATUS = %q, want DeadlineExceeded", s)
	}
	// Failed first, then the containers are killed (1 s grace): their final state shows.
	p = e.waitFor("deadline", 10*time.Second, "container terminated", func(p *v1.Pod) bool {
		cs := containerStatus(p, "main")
		return cs != nil && cs.State.Terminated != nil
	})
	if c := findCondition(p, v1.ContainersReady); c == nil || c.Status != v1.ConditionFalse {
		t.Errorf("ContainersReady %+v in a Failed pod whose containers are dead, want False", c)
	}
	e.describeHas("deadline", 5*time.Second, "DeadlineExceeded")
}

// A native sidecar (an init container with restartPolicy Always) starts before the app,
// keeps running beside it, does not keep a Never pod from Succeeded, and is stopped after the
// app containers on delete.
func TestLifecycleNativeSidecar(t *testing.T) {
	e := newLifecycleEnv(t)
	dir := hostDir(t)
	sidecarPod := func(name, policy, app string) string {
		return `apiVersion: v1
kind: Pod
metadata:
  name: ` + name + `
spec:
  restartPolicy: ` + policy + `
  terminationGracePeriodSeconds: 5
  volumes:
  - name: out
    hostPath: {path: ` + dir + `}
  initContainers:
  - name: side
    image: busybox
    imagePullPolicy: IfNotPresent
    restartPolicy: Always
    command: ["sh", "-c", "trap 'sleep 0.5; echo side >> /out/` + name + `; exit 0' TERM; echo side-up >> /out/` + name + `; while :; do sleep 0.1; done"]
    volumeMounts: [{name: out, mountPath: /out}]
    startupProbe:
      exec: {command: ["true"]}
      periodSeconds: 1
  containers:
  - name: app
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "` + app + `"]
    volumeMounts: [{name: out, mountPath: /out}]
`
	}
	e.create(sidecarPod("sc-never", "Never", "echo app-up >> /out/sc-never; sleep 3; exit 0"))
	e.create(sidecarPod("sc-restart", "Always", "sleep 3600"))
	e.create(sidecarPod("sc-always", "Always", "trap 'echo app >> /out/sc-always; exit 0' TERM; echo app-up >> /out/sc-always; while :; do sleep 0.1; done"))

	// While the app runs the sidecar runs too, and counts in READY (2/2).
	e.waitFor("sc-never", 30*time.Second, "app and sidecar running", func(p *v1.Pod) bool {
		app, side := containerStatus(p, "app"), containerStatus(p, "side")
		return app != nil && side != nil && app.State.Running != nil && side.State.Running != nil
	})
	e.waitPhase("sc-never", v1.PodSucceeded, 30*time.Second)
	if s := e.statusColumn("sc-never"); s != "Completed" {
		t.Errorf("sc-never STATUS %q, want Completed", s)
	}
	// Succeeded as soon as the app completed (the kubelet's getPhase ignores sidecars); then
	// the terminal pod's sidecar is stopped.
	e.waitFor("sc-never", 15*time.Second, "sidecar stopped", func(p *v1.Pod) bool {
		side := containerStatus(p, "side")
		return side != nil && side.State.Terminated != nil
	})
	if p, _ := e.getPod("sc-never"); p.Status.Phase != v1.PodSucceeded {
		t.Errorf("sc-never phase %s after its sidecar stopped, want Succeeded", p.Status.Phase)
	}
	if got := readLines(t, filepath.Join(dir, "sc-never")); len(got) < 2 || got[0] != "side-up" || got[1] != "app-up" {
		t.Errorf("sc-never start order %q, want side-up then app-up", got)
	}

	// A sidecar that dies is restarted beside the running app.
	e.waitRunning("sc-restart", 30*time.Second)
	e.execOut("sc-restart", "side", "kill", "-TERM", "1") // its trap exits 0: sidecars restart whatever the code
	p := e.waitFor("sc-restart", 30*time.Second, "sidecar restarted", func(p *v1.Pod) bool {
		side := containerStatus(p, "side")
		return side != nil && side.RestartCount >= 1 && side.State.Running != nil
	})
	if app := containerStatus(p, "app"); app.RestartCount != 0 || app.State.Running == nil {
		t.Errorf("the app was disturbed by its sidecar's restart: %+v", app)
	}

	e.waitRunning("sc-always", 30*time.Second)
	e.waitColumn("sc-always READY", func() string { return e.readyColumn("sc-always") }, "2/2", 15*time.Second)
	e.deleteTimed("sc-always", 30*time.Second)
	got := readLines(t, filepath.Join(dir, "sc-always"))
	// The app's TERM line comes first even though the sidecar sleeps 0.5 s in its trap:
	// the sidecar is only signalled once the app has exited.
	if strings.Join(got, " ") != "side-up app-up app side" {
		t.Errorf("sc-always log %q, want \"side-up app-up app side\"", got)
	}
}

// `get pods -w` prints the table, then a line per change.
func TestLifecycleGetPodsWatch(t *testing.T) {
	e := newLifecycleEnv(t)
	e.create(busyboxPod("watched", "Never", "sleep 2; exit 0"))
	e.waitRunning("watched", 30*time.Second)
	out, _, _ := e.podrunTimeout(6*time.Second, nil, "get", "pods", "-w")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 3 || !strings.HasPrefix(lines[0], "NAME") {
		t.Fatalf("get pods -w printed %q, want the header, the pod, then a change", out)
	}
	var statuses []string
	for _, l := range lines[1:] {
		if f := strings.Fields(l); len(f) >= 3 && f[0] == "watched" {
			statuses = append(statuses, f[2])
		}
	}
	sort.Strings(statuses)
	if len(statuses) < 2 || !contains(statuses, "Running") || !contains(statuses, "Completed") {
		t.Errorf("watch lines %q: want Running then Completed", lines)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
