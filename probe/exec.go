package probe

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/podrun/podrun/cri"
)

// Execer runs a command in a live container: cri.RuntimeService satisfies it. Per the cri
// contract, a command killed at its timeout returns an error wrapping context.DeadlineExceeded.
type Execer interface {
	ExecSync(ctx context.Context, containerID string, cmd []string, timeout time.Duration) (*cri.ExecResult, error)
}

// Exec runs cmd in the container with the probe's timeout and answers like the kubelet's exec
// prober: exit 0 → Success, another exit code → Failure with the output (stdout then stderr,
// capped at 10 KiB), the timeout → Failure with `command "<cmd>" timed out`, any other error
// (container gone, runtime failure) → Unknown with the error.
func Exec(ctx context.Context, e Execer, containerID string, cmd []string, timeout time.Duration) (Result, string, error) {
	if len(cmd) == 0 {
		return Unknown, "", errors.New("exec probe: empty command")
	}
	res, err := e.ExecSync(ctx, containerID, cmd, timeout)
	if err != nil {
		// The kubelet (ExecProbeTimeout, GA) turns a timed-out exec into a Failure whose
		// output is the timeout error, since the killed command's output is meaningless.
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return Failure, TimeoutMessage(cmd), nil
		}
		return Unknown, "", fmt.Errorf("exec probe in container %s: %w", containerID, err)
	}
	out := combinedOutput(res)
	if res.ExitCode != 0 {
		return Failure, out, nil
	}
	return Success, out, nil
}

// TimeoutMessage is the kubelet's output for an exec probe killed at its timeout.
func TimeoutMessage(cmd []string) string {
	return fmt.Sprintf("command %q timed out", strings.Join(cmd, " "))
}

// combinedOutput is stdout followed by stderr, capped, as the kubelet's RunInContainer
// returns it.
func combinedOutput(res *cri.ExecResult) string {
	if res == nil {
		return ""
	}
	b := make([]byte, 0, min(len(res.Stdout)+len(res.Stderr), maxOutput))
	b = append(b, res.Stdout[:min(len(res.Stdout), maxOutput)]...)
	b = append(b, res.Stderr[:min(len(res.Stderr), maxOutput-len(b))]...)
	return string(b)
}
