package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Delete sends the stop signal, waits for the grace period, kills, and removes everything.
func TestDeleteGraceful(t *testing.T) {
	e := newEnv(t)
	hp := e.hostDir()
	e.runWait(hostPathPod("graceful", "Always", 20, "trap 'echo term > /hp/marker; exit 0' TERM; while true; do sleep 0.1; done", hp))
	e.waitRunning("graceful", 30*time.Second)
	pid := e.inspect("graceful").containerPid(t, "main")
	start := time.Now()
	e.must("delete", "pod", "graceful")
	if err := e.waitNoPods(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	t.Logf("delete of a container that exits on SIGTERM: gone after %v", took)
	b, err := os.ReadFile(filepath.Join(hp, "marker"))
	if err != nil || strings.TrimSpace(string(b)) != "term" {
		t.Errorf("marker written by the SIGTERM trap = %q, %v; want \"term\"", b, err)
	}
	if took > 10*time.Second {
		t.Errorf("graceful delete of a container that exits on SIGTERM took %v", took)
	}
	if pidAlive(pid) {
		t.Errorf("container process %d still alive after delete", pid)
	}
	e.checkNoLeaks()
}

// A container that ignores SIGTERM is killed when --grace-period runs out; the pod shows
// Terminating meanwhile.
func TestDeleteGracePeriodKill(t *testing.T) {
	e := newEnv(t)
	e.runWait(busyboxPod("stubborn", "Always", "trap '' TERM; while true; do sleep 0.1; done"))
	e.waitRunning("stubborn", 30*time.Second)
	pid := e.inspect("stubborn").containerPid(t, "main")

	start := time.Now()
	cmd := exec.Command(podrunBin(), "--socket", e.socket, "delete", "pod", "stubborn", "--grace-period", "2")
	out, err := os.CreateTemp(t.TempDir(), "delete-out")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sawTerminating := false
	for time.Since(start) < 1500*time.Millisecond {
		if e.statusColumn("stubborn") == "Terminating" {
			sawTerminating = true
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := cmd.Wait(); err != nil {
		b, _ := os.ReadFile(out.Name())
		t.Errorf("delete --grace-period 2: %v: %s", err, b)
	}
	if err := e.waitNoPods(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if !sawTerminating {
		t.Errorf("STATUS never showed Terminating during the grace period")
	}
	if took < 1500*time.Millisecond {
		t.Errorf("pod gone after %v: the 2s grace period was not honoured", took)
	}
	if took > 8*time.Second {
		t.Errorf("pod gone after %v: want about the 2s grace period", took)
	}
	if pidAlive(pid) {
		t.Errorf("container process %d survived the delete", pid)
	}
	e.checkNoLeaks()
}

// delete -f FILE, delete pods --all and --force.
func TestDeleteVariants(t *testing.T) {
	e := newEnv(t)
	f := writeYAML(t, busyboxPod("fromfile", "Always", "exec sleep 3600"))
	e.must("create", "-f", f)
	e.runWait(busyboxPod("a1", "Always", "exec sleep 3600"))
	e.runWait(busyboxPod("a2", "Always", "exec sleep 3600"))
	e.waitRunning("fromfile", 30*time.Second)

	start := time.Now()
	out := e.must("delete", "-f", f)
	if out != "pod \"fromfile\" deleted\n" {
		t.Errorf("delete -f output %q, want kubectl's pod \"fromfile\" deleted", out)
	}
	if _, err := e.getPod("fromfile"); err == nil {
		// kubectl waits for the deletion by default; allow a short lag.
		time.Sleep(2 * time.Second)
		if _, err := e.getPod("fromfile"); err == nil {
			t.Errorf("pod fromfile still there after delete -f")
		}
	}
	t.Logf("delete -f of a pod whose sleep ignores SIGTERM (grace 5s) took %v", time.Since(start))

	start = time.Now()
	e.must("delete", "pod", "a1", "--force", "--grace-period", "0")
	if took := time.Since(start); took > 4*time.Second {
		t.Errorf("delete --force --grace-period 0 took %v", took)
	}
	e.must("delete", "pods", "--all")
	if err := e.waitNoPods(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := e.podrun("delete", "pod", "nosuchpod"); code == 0 || !strings.Contains(stderr, "nosuchpod") {
		t.Errorf("delete of a missing pod: exit %d, stderr %q", code, stderr)
	}
	e.checkNoLeaks()
}
