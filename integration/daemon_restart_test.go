package integration

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
)

// kill -9 of the daemon leaves pods running and logging (the per-pod monitor owns them);
// a restarted daemon re-adopts them and reports exits that happened meanwhile.
func TestDaemonKill9(t *testing.T) {
	e := newEnv(t)
	hp := e.hostDir()
	e.runWait(busyboxPod("ticker", "Always", "i=0; while true; do i=$((i+1)); echo tick$i; sleep 0.2; done"))
	e.runWait(hostPathPod("exiter", "Never", 1, "while [ ! -f /hp/go ]; do sleep 0.1; done; exit 7", hp))
	e.waitRunning("ticker", 30*time.Second)
	e.waitRunning("exiter", 30*time.Second)
	ti := e.inspect("ticker")
	ei := e.inspect("exiter")
	tickerPid := ti.containerPid(t, "main")
	exiterPid := ei.containerPid(t, "main")
	var logPath string
	for _, c := range ti.Containers {
		logPath = c.LogPath
	}

	if !e.killDaemon(syscall.SIGKILL, 5*time.Second) {
		t.Fatal("daemon did not die of SIGKILL")
	}
	size1 := fileSize(logPath)
	time.Sleep(1500 * time.Millisecond)
	size2 := fileSize(logPath)
	for _, pid := range []int{ti.Sandbox.Pid, tickerPid, ei.Sandbox.Pid, exiterPid} {
		if !pidAlive(pid) {
			t.Errorf("pid %d died with the daemon", pid)
		}
	}
	if size2 <= size1 {
		t.Errorf("log %s did not grow while the daemon was down (%d -> %d bytes)", logPath, size1, size2)
	}
	// The CLI says how to start a daemon that is not there.
	if _, stderr, code := e.podrun("get", "pods"); code == 0 || !strings.Contains(strings.ToLower(stderr), "daemon") {
		t.Errorf("get pods with no daemon: exit %d, stderr %q: want a hint to start the daemon", code, stderr)
	}

	// The exiter's container ends with code 7 while nobody is watching.
	if err := os.WriteFile(filepath.Join(hp, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for pidAlive(exiterPid) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if pidAlive(exiterPid) {
		t.Fatalf("exiter container %d did not exit", exiterPid)
	}

	e.startDaemon()
	p := e.waitPhase("exiter", v1.PodFailed, 30*time.Second)
	cs := containerStatus(p, "main")
	if cs == nil || cs.State.Terminated == nil || cs.State.Terminated.ExitCode != 7 {
		t.Errorf("exiter after daemon restart: %+v, want terminated with exitCode 7", cs)
	}
	if s := e.statusColumn("exiter"); s != "Error" {
		t.Errorf("exiter STATUS = %q, want Error", s)
	}

	p = e.waitRunning("ticker", 10*time.Second)
	if cs := containerStatus(p, "main"); cs.RestartCount != 0 {
		t.Errorf("ticker restartCount = %d after daemon restart, want 0 (re-adopted, not restarted)", cs.RestartCount)
	}
	if got := e.inspect("ticker").containerPid(t, "main"); got != tickerPid {
		t.Errorf("ticker pid %d after restart, was %d: want the same process", got, tickerPid)
	}
	if out := e.must("logs", "ticker", "--tail", "1"); !strings.HasPrefix(out, "tick") {
		t.Errorf("logs after daemon restart = %q", out)
	}
	if _, stderr, code := e.podrun("exec", "ticker", "--", "true"); code != 0 {
		t.Errorf("exec after daemon restart: exit %d %s", code, stderr)
	}
	// Deleting re-adopted pods works and leaves nothing.
	e.must("delete", "pods", "--all", "--grace-period", "1")
	if err := e.waitNoPods(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	e.checkNoLeaks()
}

func fileSize(p string) int64 {
	st, err := os.Stat(p)
	if err != nil {
		return -1
	}
	return st.Size()
}

// A container with restartPolicy Always that dies while the daemon is down is restarted by
// the daemon that comes back, and its previous exit is its lastState.
func TestDaemonRestartRestartsCrashed(t *testing.T) {
	e := newEnv(t)
	hp := e.hostDir()
	e.runWait(hostPathPod("crasher", "Always", 1, "while [ ! -f /hp/crash ]; do sleep 0.1; done; rm /hp/crash; exit 3", hp))
	pid := e.inspect("crasher").containerPid(t, "main")
	if !e.killDaemon(syscall.SIGKILL, 5*time.Second) {
		t.Fatal("daemon did not die of SIGKILL")
	}
	if err := os.WriteFile(filepath.Join(hp, "crash"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for pidAlive(pid) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	e.startDaemon()
	p := e.waitFor("crasher", 30*time.Second, "restarted and running", func(p *v1.Pod) bool {
		cs := containerStatus(p, "main")
		return cs != nil && cs.RestartCount >= 1 && cs.State.Running != nil
	})
	cs := containerStatus(p, "main")
	if cs.LastTerminationState.Terminated == nil || cs.LastTerminationState.Terminated.ExitCode != 3 {
		t.Errorf("lastState = %+v, want terminated with exit code 3", cs.LastTerminationState)
	}
}
