package pod

import (
	"context"
	"time"

	v1 "k8s.io/api/core/v1"
)

// ContainerTarget is one started container, as probes and hooks need it.
type ContainerTarget struct {
	Pod         *v1.Pod
	Container   *v1.Container
	ContainerID string
	StartedAt   time.Time
	// PodIP is status.podIP ("" until networking configures one); NetNS is the sandbox's
	// pinned network namespace ("" with hostNetwork). Without a pod IP, probes and hooks
	// reach the pod's loopback through NetNS.
	PodIP string
	NetNS string
}

// ContainerHooks runs a container's lifecycle handlers (NewProbes implements it with
// package probe). The pod manager decides when; the hooks only run the handler.
type ContainerHooks interface {
	// PostStart runs right after the container started. An error (whose text is the event
	// message) kills the container: events FailedPostStartHook and Killing, then the restart
	// policy applies.
	PostStart(ctx context.Context, t ContainerTarget) error
	// PreStop runs before the stop signal; ctx ends when the grace period does. An error is
	// recorded as FailedPreStopHook; the stop goes on.
	PreStop(ctx context.Context, t ContainerTarget) error
}

// ProbeEvent is a per-attempt event from a probe (Unhealthy, ProbeWarning).
type ProbeEvent struct {
	Type, Reason, Message string
}

// ProbeUpdate is what a probe worker reports about one container. Nil fields are unchanged.
type ProbeUpdate struct {
	Started *bool // startupProbe result (true for good once it succeeded)
	Ready   *bool // readinessProbe result
	// Kill asks the manager to kill the container (liveness or startup probe failed): event
	// Killing with KillMessage, stop within KillGrace seconds (nil: the pod's grace period);
	// the restart policy then applies.
	Kill        bool
	KillMessage string
	KillGrace   *int64
	// Event is recorded on the container.
	Event *ProbeEvent
}

// Prober runs the probes of one started container until ctx ends (the container exited or
// is being stopped), reporting through report (safe to call from any goroutine).
type Prober interface {
	Probe(ctx context.Context, t ContainerTarget, report func(ProbeUpdate))
}
