package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
)

// hostDir makes a directory for a hostPath volume; the test reads what the containers wrote
// there after the pod is gone.
func hostDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "podrun-lc-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

func readLines(t *testing.T, p string) []string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("read %s: %v", p, err)
	}
	return strings.Fields(string(b))
}

// A failing postStart hook kills the container (FailedPostStartHook) and the restart policy
// applies: Always restarts it, Never leaves the pod Failed.
func TestLifecyclePostStartFails(t *testing.T) {
	e := newLifecycleEnv(t)
	for _, policy := range []string{"Always", "Never"} {
		e.create(`apiVersion: v1
kind: Pod
metadata:
  name: poststart-` + strings.ToLower(policy) + `
spec:
  restartPolicy: ` + policy + `
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sleep", "3600"]
    lifecycle:
      postStart:
        exec: {command: ["sh", "-c", "echo hook broke; exit 3"]}
`)
	}
	e.waitFor("poststart-always", 30*time.Second, "restarted after postStart failure", restartsAtLeast("main", 1))
	e.describeHas("poststart-always", 10*time.Second, "FailedPostStartHook", "PostStartHook failed", "Killing")
	p := e.waitPhase("poststart-never", v1.PodFailed, 30*time.Second)
	cs := containerStatus(p, "main")
	if cs.State.Terminated == nil || cs.RestartCount != 0 {
		t.Errorf("Never: status %s, want terminated, no restart", statusJSON(p))
	}
	e.describeHas("poststart-never", 10*time.Second, "FailedPostStartHook")
}

// preStop runs before the stop signal: the hook's line comes before the TERM trap's line.
// The stop then waits for the process (which exits on TERM) well within the grace period.
func TestLifecyclePreStopBeforeTERM(t *testing.T) {
	e := newLifecycleEnv(t)
	dir := hostDir(t)
	e.create(`apiVersion: v1
kind: Pod
metadata:
  name: prestop
spec:
  terminationGracePeriodSeconds: 10
  volumes:
  - name: out
    hostPath: {path: ` + dir + `}
  containers:
  - name: main
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "trap 'echo TERM >> /out/log; exit 0' TERM; echo started >> /out/log; while :; do sleep 0.1; done"]
    volumeMounts: [{name: out, mountPath: /out}]
    lifecycle:
      preStop:
        exec: {command: ["sh", "-c", "echo preStop >> /out/log; sleep 1"]}
`)
	e.waitRunning("prestop", 30*time.Second)
	start := time.Now()
	e.must("delete", "pod", "prestop")
	if err := e.waitNoPods(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	got := strings.Join(readLines(t, filepath.Join(dir, "log")), " ")
	if got != "started preStop TERM" {
		t.Errorf("order = %q, want \"started preStop TERM\"", got)
	}
	if took > 8*time.Second {
		t.Errorf("delete took %v: the TERM should end it right after the 1 s preStop", took)
	}
}

// The grace period is honoured, then SIGKILL: a process that traps TERM and goes on is
// gone ≈2 s after delete; a liveness kill with the probe's terminationGracePeriodSeconds
// leaves exit code 137.
func TestLifecycleGracePeriod(t *testing.T) {
	e := newLifecycleEnv(t)
	dir := hostDir(t)
	e.create(`apiVersion: v1
kind: Pod
metadata:
  name: stubborn
spec:
  terminationGracePeriodSeconds: 2
  volumes:
  - name: out
    hostPath: {path: ` + dir + `}
  containers:
  - name: main
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "trap 'echo TERM >> /out/log' TERM; while :; do sleep 0.1; done"]
    volumeMounts: [{name: out, mountPath: /out}]
`)
	e.create(`apiVersion: v1
kind: Pod
metadata:
  name: stubborn-live
spec:
  terminationGracePeriodSeconds: 30
  containers:
  - name: main
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "trap 'echo ignored' TERM; while :; do sleep 0.1; done"]
    livenessProbe:
      exec: {command: ["false"]}
      periodSeconds: 1
      failureThreshold: 1
      terminationGracePeriodSeconds: 2
`)
	e.waitRunning("stubborn", 30*time.Second)
	took := e.deleteTimed("stubborn", 15*time.Second)
	if took < 1800*time.Millisecond || took > 5*time.Second {
		t.Errorf("pod gone %v after delete, want ≈2 s (grace period, then SIGKILL)", took)
	}
	if got := readLines(t, filepath.Join(dir, "log")); len(got) == 0 || got[0] != "TERM" {
		t.Errorf("the process did not get TERM first: %q", got)
	}

	// `delete --grace-period 1` overrides the pod's 30 s.
	e.create(strings.Replace(busyboxPod("stubborn-cli", "Always", "trap 'echo ignored' TERM; while :; do sleep 0.1; done"),
		"terminationGracePeriodSeconds: 5", "terminationGracePeriodSeconds: 30", 1))
	e.waitRunning("stubborn-cli", 30*time.Second)
	if took := e.deleteTimed("stubborn-cli", 15*time.Second, "--grace-period", "1"); took < 800*time.Millisecond || took > 4*time.Second {
		t.Errorf("delete --grace-period 1: pod gone after %v, want ≈1 s", took)
	}

	p := e.waitFor("stubborn-live", 30*time.Second, "killed by liveness", func(p *v1.Pod) bool {
		cs := containerStatus(p, "main")
		return cs != nil && cs.LastTerminationState.Terminated != nil
	})
	lt := containerStatus(p, "main").LastTerminationState.Terminated
	if lt.ExitCode != 137 || lt.Reason != "Error" {
		t.Errorf("lastState.terminated = exit %d reason %q, want 137 Error", lt.ExitCode, lt.Reason)
	}
	// The probe's 2 s grace, not the pod's 30 s: the kill took about 2 s.
	if d := lt.FinishedAt.Sub(lt.StartedAt.Time); d > 8*time.Second {
		t.Errorf("container ran %v before the liveness kill ended it, want ≈ 1 s probe + 2 s grace", d)
	}
}

// lifecycle.stopSignal and the image's STOPSIGNAL replace SIGTERM.
func TestLifecycleStopSignal(t *testing.T) {
	e := newLifecycleEnv(t)
	dir := hostDir(t)
	script := "trap 'echo USR1 >> /out/$OUT; exit 0' USR1; trap 'echo TERM >> /out/$OUT; exit 0' TERM; while :; do sleep 0.1; done"
	e.create(`apiVersion: v1
kind: Pod
metadata:
  name: stopsig
spec:
  os: {name: linux}
  terminationGracePeriodSeconds: 20
  volumes:
  - name: out
    hostPath: {path: ` + dir + `}
  containers:
  - name: main
    image: busybox
    imagePullPolicy: IfNotPresent
    env: [{name: OUT, value: spec}]
    command: ["sh", "-c", "` + script + `"]
    volumeMounts: [{name: out, mountPath: /out}]
    lifecycle:
      stopSignal: SIGUSR1
`)
	e.waitRunning("stopsig", 30*time.Second)
	start := time.Now()
	e.must("delete", "pod", "stopsig")
	if err := e.waitNoPods(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("delete took %v: the USR1 trap should end it at once", took)
	}
	if got := readLines(t, filepath.Join(dir, "spec")); strings.Join(got, " ") != "USR1" {
		t.Errorf("lifecycle.stopSignal: the container got %q, want USR1", got)
	}

	// An image whose config says STOPSIGNAL SIGUSR1: busybox in one layer.
	root := hostDir(t)
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Skipf("no /bin/busybox for the STOPSIGNAL image: %v", err)
	}
	if err := os.WriteFile(filepath.Join(root, "bin", "busybox"), bb, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"sh", "sleep"} {
		if err := os.Symlink("busybox", filepath.Join(root, "bin", l)); err != nil {
			t.Fatal(err)
		}
	}
	tar := filepath.Join(hostDir(t), "stopsig.tar")
	cmd := exec.Command("go", "run", "./hack/mkimage", "dir", "--rootfs", root, "-t", "stopsig:v1",
		"--stopsignal", "SIGUSR1", "--env", "PATH=/bin", "--cmd", `["sh","-c","`+strings.ReplaceAll(script, "$OUT", "image")+`"]`,
		"-o", tar)
	cmd.Dir = repoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mkimage: %v\n%s", err, out)
	}
	e.must("load", "-i", tar)
	e.create(`apiVersion: v1
kind: Pod
metadata:
  name: stopsig-image
spec:
  terminationGracePeriodSeconds: 20
  volumes:
  - name: out
    hostPath: {path: ` + dir + `}
  containers:
  - name: main
    image: stopsig:v1
    imagePullPolicy: Never
    volumeMounts: [{name: out, mountPath: /out}]
`)
	e.waitRunning("stopsig-image", 30*time.Second)
	e.must("delete", "pod", "stopsig-image")
	if err := e.waitNoPods(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	if got := readLines(t, filepath.Join(dir, "image")); strings.Join(got, " ") != "USR1" {
		t.Errorf("image STOPSIGNAL: the container got %q, want USR1", got)
	}
}
