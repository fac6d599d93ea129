package runner

import (
	"os/exec"
	"testing"
	"time"

	"github.com/podrun/podrun/internal/procstat"
)

// TestReapLeaked: a child nobody waits for is reaped once it has been a zombie for
// leakedAfter, while a child that is waited for as usual is left to its waiter.
func TestReapLeaked(t *testing.T) {
	stop := make(chan struct{})
	defer close(stop)
	go reapLeaked(100*time.Millisecond, stop)

	leaked := exec.Command("true")
	if err := leaked.Start(); err != nil {
		t.Fatal(err)
	}
	pid := leaked.Process.Pid
	deadline := time.Now().Add(leakedAfter + 3*time.Second)
	for {
		if _, _, err := procstat.Stat(pid); err != nil {
			break // reaped: /proc/<pid> is gone
		}
		if time.Now().After(deadline) {
			t.Fatalf("zombie %d not reaped %v after it exited", pid, leakedAfter+3*time.Second)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Waited-for children, even ones whose waiter is slow to come, keep their exit status.
	for i := 0; i < 5; i++ {
		c := exec.Command("sh", "-c", "exit 3")
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond) // a zombie for a while, less than leakedAfter
		err := c.Wait()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
			t.Fatalf("waited child: %v, want exit status 3", err)
		}
	}
}
