package integration

// Helpers of the lifecycle tests (issue 3): a daemon with tighter flags than the harness's,
// describe/event checks, and container times for backoff arithmetic.

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
)

// newLifecycleEnv is newEnv with extra daemon flags appended (pflag: the last value wins, so
// "--backoff-base", "200ms" overrides the harness's default).
func newLifecycleEnv(t *testing.T, extra ...string) *env {
	t.Helper()
	e := newEnv(t)
	if len(extra) == 0 {
		return e
	}
	// The image store is on disk under --root: the new daemon sees the loaded busybox.
	e.stopDaemon()
	logf, err := os.OpenFile(e.daemonLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatalf("daemon log: %v", err)
	}
	defer logf.Close()
	cmd := exec.Command(podrunBin(), append(e.daemonArgs(), extra...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start daemon: %v", err)
	}
	done := make(chan struct{})
	e.daemon, e.daemonDone = cmd, done
	go func() { _ = cmd.Wait(); close(done) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, _, code := e.podrun("get", "pods"); code == 0 {
			return e
		}
		select {
		case <-done:
			t.Fatalf("daemon %v exited at start:\n%s", extra, e.daemonLogTail(40))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("daemon %v did not answer within 20s:\n%s", extra, e.daemonLogTail(40))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// describeHas waits until `describe pod NAME` contains every one of wants (events arrive
// asynchronously), failing with the last output.
func (e *env) describeHas(name string, timeout time.Duration, wants ...string) string {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		out, _, _ := e.podrun("describe", "pod", name)
		missing := ""
		for _, w := range wants {
			if !strings.Contains(out, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return out
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("describe pod %s: no %q within %v:\n%s", name, missing, timeout, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// execOut runs `podrun exec POD -c C -- cmd...` and returns stdout; it must succeed.
func (e *env) execOut(pod, ctr string, cmd ...string) string {
	e.t.Helper()
	return e.must(append([]string{"exec", pod, "-c", ctr, "--"}, cmd...)...)
}

// restartsAtLeast is a waitFor condition: container ctr restarted at least n times.
func restartsAtLeast(ctr string, n int32) func(*v1.Pod) bool {
	return func(p *v1.Pod) bool {
		cs := containerStatus(p, ctr)
		return cs != nil && cs.RestartCount >= n
	}
}

// readyColumn is the READY column of `get pod NAME`.
func (e *env) readyColumn(name string) string {
	out, _, code := e.podrun("get", "pod", name)
	if code != 0 {
		return ""
	}
	_, rows := parseTable(out)
	for _, r := range rows {
		if r["NAME"] == name {
			return r["READY"]
		}
	}
	return ""
}

// waitColumn polls a column getter until it returns want.
func (e *env) waitColumn(what string, get func() string, want string, timeout time.Duration) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for {
		if last = get(); last == want {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s = %q, want %q within %v", what, last, want, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// deleteTimed runs `podrun delete pod NAME args...` and returns how long until the pod is no
// longer listed (the delete verb itself may return earlier), failing after timeout.
func (e *env) deleteTimed(name string, timeout time.Duration, args ...string) time.Duration {
	e.t.Helper()
	start := time.Now()
	e.must(append([]string{"delete", "pod", name}, args...)...)
	for {
		if _, err := e.getPod(name); err != nil {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			e.t.Fatalf("pod %s still listed %v after delete", name, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
