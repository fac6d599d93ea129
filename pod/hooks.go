package pod

import (
	"context"
	"time"

	v1 "k8s.io/api/core/v1"
)

// ContainerHooks runs a container's lifecycle handlers (package probe implements it).
// The pod manager decides when; the hooks only run the handler.
type ContainerHooks interface {
	// PostStart runs right after the container started. An error kills the container
	// (event FailedPostStartHook) and it is restarted by the restart policy.
	PostStart(ctx context.Context, pod *v1.Pod, c *v1.Container, containerID string) error
	// PreStop runs before the stop signal; ctx ends when the grace period does.
	PreStop(ctx context.Context, pod *v1.Pod, c *v1.Container, containerID string, grace time.Duration) error
}

// ProbeUpdate is what a probe worker reports about one container. Nil fields are unchanged.
type ProbeUpdate struct {
	Started *bool // startupProbe result (true for good once it succeeded)
	Ready   *bool // readinessProbe result
	// LivenessFailed asks the manager to kill the container (event Killing with Message) and
	// restart it by the restart policy.
	LivenessFailed bool
	Message        string
}

// Prober runs the probes of one started container until ctx ends (the container exited or is
// being stopped). It reports through report; report is safe to call from any goroutine.
type Prober interface {
	Probe(ctx context.Context, pod *v1.Pod, c *v1.Container, containerID string, report func(ProbeUpdate))
}
