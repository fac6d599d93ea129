package probe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
)

// RunHook runs a postStart or preStop handler against t and returns ("", nil) on success, or
// the kubelet's failure message with the error (logged, and for postStart the container's
// waiting message; the events carry FailedPostStartHookMessage / FailedPreStopHookMessage):
//
//	Exec lifecycle hook ([cmd args]) for Container "c" in Pod "p_ns(uid)" failed - error: <err>, message: "<output>"
//	HTTP lifecycle hook (/path) for Container "c" in Pod "p_ns(uid)" failed - error: <err>
//	Sleep lifecycle hook (5) for Container "c" in Pod "p_ns(uid)" failed - error: container terminated before sleep hook finished
//
// Exec hooks have no timeout of their own (as in the kubelet): bound them with ctx (the
// grace period for preStop). A non-zero exit is an error. HTTP hooks succeed on any response
// (the kubelet ignores the status code), retrying over http when an https hook reached an
// http server. Sleep ends early with an error when ctx ends.
func (pr *Prober) RunHook(ctx context.Context, h *v1.LifecycleHandler, t *Target) (string, error) {
	if h == nil {
		return "", nil
	}
	name := ""
	if t.Container != nil {
		name = t.Container.Name
	}
	pod := FormatPod(t.Pod)
	switch {
	case h.Exec != nil:
		out, err := pr.runExecHook(ctx, h.Exec.Command, t)
		if err != nil {
			return fmt.Sprintf("Exec lifecycle hook (%v) for Container %q in Pod %q failed - error: %v, message: %q", h.Exec.Command, name, pod, err, out), err
		}
		return "", nil
	case h.HTTPGet != nil:
		if err := runHTTPHook(ctx, h.HTTPGet, t); err != nil {
			return fmt.Sprintf("HTTP lifecycle hook (%s) for Container %q in Pod %q failed - error: %v", h.HTTPGet.Path, name, pod, err), err
		}
		return "", nil
	case h.Sleep != nil:
		if err := sleepHook(ctx, h.Sleep.Seconds); err != nil {
			return fmt.Sprintf("Sleep lifecycle hook (%d) for Container %q in Pod %q failed - error: %v", h.Sleep.Seconds, name, pod, err), err
		}
		return "", nil
	default:
		err := fmt.Errorf("invalid handler: %v", h)
		return fmt.Sprintf("Cannot run handler: %v", err), err
	}
}

// FormatPod is the kubelet's format.Pod: "name_namespace(uid)".
func FormatPod(p *v1.Pod) string {
	if p == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%s_%s(%s)", p.Name, p.Namespace, p.UID)
}

func (pr *Prober) runExecHook(ctx context.Context, cmd []string, t *Target) (string, error) {
	if pr.Exec == nil {
		return "", errors.New("no Execer")
	}
	res, err := pr.Exec.ExecSync(ctx, t.ContainerID, pr.command(cmd, t.Container), 0)
	out := combinedOutput(res)
	if err != nil {
		return out, err
	}
	if res.ExitCode != 0 {
		// The kubelet's CRI client reports this as "command '...' exited with N: <stderr>".
		return out, fmt.Errorf("command '%s' exited with %d: %s", strings.Join(cmd, " "), res.ExitCode, res.Stderr)
	}
	return out, nil
}

func runHTTPHook(ctx context.Context, a *v1.HTTPGetAction, t *Target) error {
	req, err := NewHTTPRequest(ctx, a, t.Container, t.PodIP, LifecycleUserAgent)
	if err != nil {
		return err
	}
	// No timeout of its own: the caller's ctx (grace period) bounds it.
	client := newHTTPClient(t.Dial, 0, true)
	resp, err := client.Do(req)
	discard(resp)
	if err != nil && strings.Contains(err.Error(), "server gave HTTP response to HTTPS client") {
		// The kubelet retries an https hook over http (and drops Authorization, which must
		// not travel in clear).
		r := req.Clone(ctx)
		r.URL.Scheme = "http"
		r.Header.Del("Authorization")
		resp, err2 := client.Do(r)
		discard(resp)
		if err2 == nil {
			err = nil
		}
	}
	return err
}

func discard(resp *http.Response) {
	if resp == nil {
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxOutput))
	_ = resp.Body.Close()
}

func sleepHook(ctx context.Context, seconds int64) error {
	t := time.NewTimer(time.Duration(seconds) * time.Second)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return errors.New("container terminated before sleep hook finished")
	case <-t.C:
		return nil
	}
}
