package monitor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"golang.org/x/sys/unix"
)

// HelperArg is the word after "monitor" that makes `podrun monitor helper <op>` a helper.
const HelperArg = "helper"

// helper runs `podrun monitor helper op --id id args…` with stdin and files (fd 3 on) and
// decodes its answer into out (may be nil). held says the caller holds m.spawnMu (create:
// the new init must be known before the reaper may look); otherwise the helper's own pid is
// made known to the reaper for its life.
func (m *monitor) helper(op, id string, stdin []byte, files []*os.File, args []string, out any, held bool) error {
	argv := append([]string{"monitor", HelperArg, op, "--state", m.p.State, "--id", id}, args...)
	cmd := exec.Command(m.cfg.Helper, argv...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.ExtraFiles = files
	cmd.Dir = "/"
	if !held {
		m.spawnMu.Lock()
	}
	err := cmd.Start()
	if err == nil {
		m.known[cmd.Process.Pid] = true
	}
	if !held {
		m.spawnMu.Unlock()
	}
	if err != nil {
		return fmt.Errorf("%s %s: start helper: %w", op, id, err)
	}
	waitExited(cmd.Process.Pid)
	err = cmd.Wait()
	if !held {
		m.spawnMu.Lock()
	}
	delete(m.known, cmd.Process.Pid)
	if !held {
		m.spawnMu.Unlock()
	}
	if err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return errors.New(msg)
		}
		return fmt.Errorf("%s %s: helper: %w", op, id, err)
	}
	if out != nil {
		if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
			return fmt.Errorf("%s %s: helper answer: %w", op, id, err)
		}
	}
	return nil
}

// reapChild waits for the exit of pid, a child of the monitor, without holding a thread
// meanwhile, and reaps it.
func reapChild(pid int) (unix.WaitStatus, error) {
	waitExited(pid)
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(pid, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		return ws, err
	}
}
