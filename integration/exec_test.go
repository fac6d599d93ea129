package integration

import (
	"strings"
	"testing"
	"time"
)

// podrun exec runs a process in a running container: exit codes, stdin and identity pass
// through unchanged.
func TestExec(t *testing.T) {
	e := newEnv(t)
	e.runWait(`apiVersion: v1
kind: Pod
metadata:
  name: execpod
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sleep", "3600"]
  - name: user
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sleep", "3600"]
    securityContext:
      runAsUser: 1234
      runAsGroup: 2345
`)
	e.waitRunning("execpod", 30*time.Second)

	for _, c := range []struct {
		args     []string
		wantCode int
	}{
		{[]string{"true"}, 0},
		{[]string{"false"}, 1},
		{[]string{"sh", "-c", "exit 3"}, 3},
		{[]string{"sh", "-c", "kill -9 $$"}, 137},
	} {
		_, stderr, code := e.podrun(append([]string{"exec", "execpod", "-c", "main", "--"}, c.args...)...)
		if code != c.wantCode {
			t.Errorf("exec %v: exit %d, want %d (stderr %q)", c.args, code, c.wantCode, stderr)
		}
	}

	// A command that does not exist: non-zero (kubectl/runc report 126/127 or an error).
	if _, _, code := e.podrun("exec", "execpod", "-c", "main", "--", "/no/such/binary"); code == 0 {
		t.Errorf("exec of a missing binary exited 0")
	}

	// Stdin is piped with -i.
	out, stderr, code := e.podrunIn("hello from stdin\n", "exec", "-i", "execpod", "-c", "main", "--", "cat")
	if code != 0 || out != "hello from stdin\n" {
		t.Errorf("exec -i cat: %q exit %d stderr %q", out, code, stderr)
	}
	out, _, _ = e.podrunIn("a\nb\nc\n", "exec", "-i", "execpod", "-c", "main", "--", "wc", "-l")
	if strings.TrimSpace(out) != "3" {
		t.Errorf("exec -i wc -l = %q, want 3", out)
	}
	// stdout and stderr are kept apart without a TTY.
	out, stderr, _ = e.podrun("exec", "execpod", "-c", "main", "--", "sh", "-c", "echo out; echo err >&2")
	if out != "out\n" || strings.TrimSpace(stderr) != "err" {
		t.Errorf("stdout %q stderr %q, want out / err", out, stderr)
	}

	// Identity: root by default, runAsUser/runAsGroup honoured; exec'd directly.
	if out := strings.TrimSpace(e.must("exec", "execpod", "-c", "main", "--", "id", "-u")); out != "0" {
		t.Errorf("id -u in main = %q, want 0", out)
	}
	if out := strings.TrimSpace(e.must("exec", "execpod", "-c", "user", "--", "id", "-u")); out != "1234" {
		t.Errorf("id -u in user = %q, want 1234", out)
	}
	if out := strings.TrimSpace(e.must("exec", "execpod", "-c", "user", "--", "id", "-g")); out != "2345" {
		t.Errorf("id -g in user = %q, want 2345", out)
	}
	// Without -c, a multi-container pod defaults to the first container (as kubectl does).
	if _, stderr, code := e.podrun("exec", "execpod", "--", "true"); code != 0 {
		t.Errorf("exec without -c: exit %d: %s", code, stderr)
	}
	// Unknown container: non-zero, names it.
	if _, stderr, code := e.podrun("exec", "execpod", "-c", "nope", "--", "true"); code == 0 || !strings.Contains(stderr, "nope") {
		t.Errorf("exec -c nope: exit %d stderr %q", code, stderr)
	}
}
