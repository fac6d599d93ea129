package monitor

import (
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestZombieChildrenFindsOrphans makes this test process a child subreaper, as the monitor
// is, and has a shell leave a background child behind: the orphan is handed to us, and once it
// has exited zombieChildren must list it (from the leader thread's children file).
func TestZombieChildrenFindsOrphans(t *testing.T) {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Skipf("child subreaper: %v", err)
	}
	defer unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0) //nolint:errcheck
	out, err := exec.Command("sh", "-c", "sleep 0.2 & echo $!").Output()
	if err != nil {
		t.Fatal(err)
	}
	orphan, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("orphan pid %q: %v", out, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !slices.Contains(zombieChildren(), orphan) {
		if time.Now().After(deadline) {
			t.Fatalf("orphan %d never listed as a zombie child (listed: %v)", orphan, zombieChildren())
		}
		time.Sleep(20 * time.Millisecond)
	}
	var ws unix.WaitStatus
	if pid, err := unix.Wait4(orphan, &ws, unix.WNOHANG, nil); err != nil || pid != orphan {
		t.Fatalf("reap orphan %d: %d, %v", orphan, pid, err)
	}
	if slices.Contains(zombieChildren(), orphan) {
		t.Errorf("orphan %d still listed after it was reaped", orphan)
	}
}
