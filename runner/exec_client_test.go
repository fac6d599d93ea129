package runner

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestStartGivesUpAtDeadline: a server that takes an exec request and never answers it (here
// a program that never reads its socket) does not hold Start beyond its context.
func TestStartGivesUpAtDeadline(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep")
	}
	s := NewExecServer([]string{sleep, "60"}, os.Environ(), io.Discard)
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	_, err = s.Start(ctx, strings.Repeat("a", 64), &Process{Args: []string{"true"}, Cwd: "/"}, Stdio{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Start: %v, want the context's deadline", err)
	}
	if d := time.Since(t0); d > 5*time.Second {
		t.Errorf("Start returned after %v", d)
	}
}

// TestMain lets the test binary play a server that starts an exec (answers a pid) and then
// never reports its end: PODRUN_TEST_MUTE_SERVER=1.
func TestMain(m *testing.M) {
	if os.Getenv("PODRUN_TEST_MUTE_SERVER") == "1" {
		muteServer()
		return
	}
	os.Exit(m.Run())
}

func muteServer() {
	ctl := os.NewFile(3, "control")
	buf := make([]byte, maxMessage)
	oob := make([]byte, 4096)
	var held []*os.File
	for {
		_, oobn, _, _, err := unix.Recvmsg(int(ctl.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err != nil {
			runtime.KeepAlive(held)
			return
		}
		files := receivedFiles(oob[:oobn])
		if len(files) == 0 {
			continue
		}
		reply(files[0], &execReply{Pid: 1}) //nolint:errcheck
		held = append(held, files...)       // never answers the end, never closes (nor lets the GC)
	}
}

// TestKillBoundsWait: a server that never reports the end of a started exec does not hold
// Wait for longer than killWait once the caller killed the exec.
func TestKillBoundsWait(t *testing.T) {
	defer func(d time.Duration) { killWait = d }(killWait)
	killWait = 100 * time.Millisecond
	env := append(os.Environ(), "PODRUN_TEST_MUTE_SERVER=1")
	s := NewExecServer([]string{os.Args[0]}, env, io.Discard)
	defer s.Close()
	ex, err := s.Start(context.Background(), strings.Repeat("a", 64), &Process{Args: []string{"true"}, Cwd: "/"}, Stdio{})
	if err != nil || ex.Pid != 1 {
		t.Fatalf("Start: %+v, %v", ex, err)
	}
	done := make(chan error, 1)
	go func() { _, err := ex.Wait(); done <- err }()
	select {
	case err := <-done:
		t.Fatalf("Wait returned before the end: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	ex.Kill()
	select {
	case err := <-done:
		if err == nil {
			t.Error("an abandoned Wait reports no error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Wait still waits after Kill and killWait")
	}
}
