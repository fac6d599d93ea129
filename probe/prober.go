package probe

import (
	"context"
	"errors"
	"time"

	v1 "k8s.io/api/core/v1"
)

// Target is the container a probe or a hook acts on.
type Target struct {
	Pod         *v1.Pod
	Container   *v1.Container
	ContainerID string
	// PodIP is the default host of httpGet, tcpSocket and grpc actions: the pod IP, or
	// "127.0.0.1" when Dial is NetnsDialContext of the pod's network namespace.
	PodIP string
	// Dial routes connections (into the pod's netns); nil dials from the host.
	Dial DialContext
}

// Prober runs one probe attempt of any kind. It holds no state: thresholds are the worker's.
type Prober struct {
	Exec Execer
	// Expand, when set, rewrites an exec probe's or hook's command before it runs: the
	// kubelet expands $(VAR) from the container's literal env. The pod manager owns that
	// expansion (pod/env.go) and passes it here; nil runs the command as written.
	Expand func(cmd []string, c *v1.Container) []string
}

func (pr *Prober) command(cmd []string, c *v1.Container) []string {
	if pr.Expand == nil {
		return cmd
	}
	return pr.Expand(cmd, c)
}

// Timeout is a probe's timeoutSeconds, defaulted to 1 s as the API server does.
func Timeout(p *v1.Probe) time.Duration {
	if p.TimeoutSeconds <= 0 {
		return time.Second
	}
	return time.Duration(p.TimeoutSeconds) * time.Second
}

// Probe runs p once against t and answers (result, output, error). A non-nil error means the
// probe could not run (Unknown): the kubelet then keeps the previous result.
func (pr *Prober) Probe(ctx context.Context, p *v1.Probe, t *Target) (Result, string, error) {
	if p == nil {
		return Success, "", nil
	}
	timeout := Timeout(p)
	switch {
	case p.Exec != nil:
		if pr.Exec == nil {
			return Unknown, "", errors.New("exec probe: no Execer")
		}
		return Exec(ctx, pr.Exec, t.ContainerID, pr.command(p.Exec.Command, t.Container), timeout)
	case p.HTTPGet != nil:
		return HTTPGet(ctx, p.HTTPGet, t.Container, t.PodIP, timeout, t.Dial)
	case p.TCPSocket != nil:
		return TCPSocket(ctx, p.TCPSocket, t.Container, t.PodIP, timeout, t.Dial)
	case p.GRPC != nil:
		return GRPC(ctx, p.GRPC, t.PodIP, timeout, t.Dial)
	default:
		return Unknown, "", errors.New("missing probe handler")
	}
}
