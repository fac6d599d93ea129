package sandbox

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestPauseConstructor runs this test binary (which links pause.c like every binary importing
// sandbox) the way the pause container runs podrun: argv[0] "/pause". The constructor must take
// the process over before the Go runtime starts (no Go thread, no test output), sit in pause(),
// and exit 0 on SIGTERM. (Every other start of a binary with it, this test binary's own
// among them, shows that it returns for any other argv[0].)
func TestPauseConstructor(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := &exec.Cmd{Path: self, Args: PauseArgs}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() { cmd.Process.Kill() }) //nolint:errcheck // gone already when the test passed

	// Sleeping in pause() with one thread: a Go program has several.
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
		if err != nil {
			t.Fatal(err)
		}
		status := string(b)
		if strings.Contains(status, "State:\tS") && strings.Contains(status, "Threads:\t1\n") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pause process not asleep with one thread:\n%s", status)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := unix.Kill(pid, unix.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("pause after SIGTERM: %v (output %q)", err, out.String())
	}
	if out.Len() != 0 {
		t.Errorf("pause wrote %q: the Go program ran", out.String())
	}

}
