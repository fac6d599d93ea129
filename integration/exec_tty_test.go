package integration

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// openPty returns a new pseudo-terminal pair (master, slave) from /dev/ptmx.
func openPty() (*os.File, *os.File, error) {
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	unlock := 0
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, master.Fd(), unix.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		master.Close()
		return nil, nil, fmt.Errorf("unlock pty: %v", e)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("pty number: %v", err)
	}
	slave, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		master.Close()
		return nil, nil, err
	}
	return master, slave, nil
}

// exec -it gives the process a terminal, carries input typed at the user's terminal, and
// propagates the exit code.
func TestExecTTY(t *testing.T) {
	e := newEnv(t)
	e.runWait(busyboxPod("ttypod", "Always", "exec sleep 3600"))

	runTTY := func(input string, args ...string) (string, int) {
		t.Helper()
		master, slave, err := openPty()
		if err != nil {
			t.Skipf("no pty: %v", err)
		}
		defer master.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, podrunBin(), append([]string{"--socket", e.socket}, args...)...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
		cmd.SysProcAttr = &unix.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		slave.Close()
		var out bytes.Buffer
		done := make(chan struct{})
		go func() { _, _ = io.Copy(&out, master); close(done) }()
		if input != "" {
			time.Sleep(500 * time.Millisecond)
			_, _ = master.Write([]byte(input))
		}
		err = cmd.Wait()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		master.Close()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
		}
		return out.String(), code
	}

	out, code := runTTY("", "exec", "-it", "ttypod", "--", "tty")
	if code != 0 || !strings.Contains(out, "/dev/pts/") {
		t.Errorf("exec -it tty: exit %d, output %q; want a /dev/pts terminal", code, out)
	}
	out, code = runTTY("", "exec", "-it", "ttypod", "--", "sh", "-c", "exit 5")
	if code != 5 {
		t.Errorf("exec -it sh -c 'exit 5': exit %d (%q), want 5", code, out)
	}
	out, code = runTTY("echo typed-$((6*7))\rexit 4\r", "exec", "-it", "ttypod", "--", "sh")
	if code != 4 || !strings.Contains(out, "typed-42") {
		t.Errorf("interactive sh over exec -it: exit %d, output %q; want typed-42 and exit 4", code, out)
	}
}
