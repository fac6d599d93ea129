package integration

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
)

// criLine is one line of the CRI log format the kubelet writes:
// <RFC3339Nano timestamp> <stdout|stderr> <F|P> <content>.
var criLine = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d) (stdout|stderr) (F|P) (.*)$`)

func TestLogs(t *testing.T) {
	e := newEnv(t)
	e.runWait(`apiVersion: v1
kind: Pod
metadata:
  name: logpod
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c1
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "echo err >&2; sleep 0.5; for i in 1 2 3 4 5; do echo line$i; done; exec sleep 3600"]
  - name: c2
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "while true; do echo tick; sleep 0.2; done"]
`)
	p := e.waitRunning("logpod", 30*time.Second)
	want := "err\nline1\nline2\nline3\nline4\nline5\n"
	var out string
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		out = e.must("logs", "logpod", "-c", "c1")
		if out == want {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if out != want {
		t.Errorf("logs -c c1 = %q, want %q", out, want)
	}
	if out := e.must("logs", "logpod", "-c", "c1", "--tail", "2"); out != "line4\nline5\n" {
		t.Errorf("logs --tail 2 = %q", out)
	}
	out = e.must("logs", "logpod", "-c", "c1", "--timestamps")
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	tsLine := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d) (.*)$`)
	if len(lines) != 6 {
		t.Errorf("logs --timestamps: %d lines, want 6: %q", len(lines), out)
	}
	for _, l := range lines {
		if m := tsLine.FindStringSubmatch(l); m == nil {
			t.Errorf("logs --timestamps line %q has no RFC3339 timestamp", l)
		}
	}
	if out := e.must("logs", "logpod", "-c", "c2"); !strings.HasPrefix(out, "tick\n") {
		t.Errorf("logs -c c2 = %q", out)
	}

	// The file on disk: <log-dir>/<ns>_<pod>_<uid>/<container>/0.log in the CRI format.
	path := filepath.Join(e.logDir, "default_logpod_"+string(p.UID), "c1", "0.log")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("CRI log file: %v (log dir has %v)", err, dirEntries(e.logDir))
	}
	var sawErr, sawLine1 bool
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		m := criLine.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("%s: line %q is not in the CRI format", path, l)
			continue
		}
		if m[3] == "stderr" && m[4] == "F" && m[5] == "err" {
			sawErr = true
		}
		if m[3] == "stdout" && m[4] == "F" && m[5] == "line1" {
			sawLine1 = true
		}
	}
	if !sawErr || !sawLine1 {
		t.Errorf("%s lacks 'stderr F err' or 'stdout F line1':\n%s", path, b)
	}
	if r := e.inspect("logpod"); len(r.Containers) > 0 {
		for _, c := range r.Containers {
			if c.Name == "c1" && c.LogPath != path {
				t.Errorf("inspect logPath of c1 = %q, want %q", c.LogPath, path)
			}
		}
	}

	// -f follows: new lines keep arriving.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, podrunBin(), "--socket", e.socket, "logs", "-f", "logpod", "-c", "c2")
	var buf bytes.Buffer
	cmd.Stdout = &buf
	_ = cmd.Run()
	before := strings.Count(e.must("logs", "logpod", "-c", "c2"), "tick")
	if n := strings.Count(buf.String(), "tick"); n < before-3 || n < 5 {
		t.Errorf("logs -f for 2s got %d ticks (a plain logs shows %d)", n, before)
	}
}

// logs -p shows the previous attempt after a restart.
func TestLogsPrevious(t *testing.T) {
	e := newEnv(t)
	e.create(`apiVersion: v1
kind: Pod
metadata:
  name: prevpod
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: r
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "n=$(cat /d/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /d/n; echo attempt$n; if [ $n = 1 ]; then exit 1; fi; exec sleep 3600"]
    volumeMounts:
    - {name: d, mountPath: /d}
  volumes:
  - name: d
    emptyDir: {}
`)
	e.waitFor("prevpod", 30*time.Second, "restarted once and running", func(p *v1.Pod) bool {
		cs := containerStatus(p, "r")
		return cs != nil && cs.RestartCount == 1 && cs.State.Running != nil
	})
	var cur string
	for i := 0; i < 50; i++ {
		if cur = e.must("logs", "prevpod"); cur != "" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if cur != "attempt2\n" {
		t.Errorf("logs = %q, want attempt2", cur)
	}
	if out := e.must("logs", "prevpod", "-p"); out != "attempt1\n" {
		t.Errorf("logs -p = %q, want attempt1", out)
	}
	p, _ := e.getPod("prevpod")
	if p != nil {
		dir := filepath.Join(e.logDir, "default_prevpod_"+string(p.UID), "r")
		for _, f := range []string{"0.log", "1.log"} {
			if !fileExists(filepath.Join(dir, f)) {
				t.Errorf("missing %s/%s (have %v)", dir, f, dirEntries(dir))
			}
		}
	}
}
