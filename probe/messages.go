package probe

import (
	"fmt"
	"strings"

	v1 "k8s.io/api/core/v1"
)

// Event reasons and messages the pod manager sends around probes and hooks, with the
// kubelet's exact wording (kubectl describe shows them; users grep them).
const (
	// ReasonKilling is the reason of the event sent when a container is killed.
	ReasonKilling = "Killing"
	// ReasonFailedPostStartHook and ReasonFailedPreStopHook are the reasons of the hook
	// failure events. Current kubelets give these events a fixed message (below) and keep
	// RunHook's detailed message out of events "so that secrets won't leak": it goes to the
	// log and, for postStart, into the container's waiting state (ReasonPostStartHookError).
	ReasonFailedPostStartHook  = "FailedPostStartHook"
	ReasonFailedPreStopHook    = "FailedPreStopHook"
	FailedPostStartHookMessage = "PostStartHook failed"
	FailedPreStopHookMessage   = "PreStopHook failed"
	// ReasonPostStartHookError is state.waiting.reason after a failed postStart (the
	// kubelet's ErrPostStartHook), with RunHook's message as state.waiting.message, until
	// the back-off turns it into CrashLoopBackOff.
	ReasonPostStartHookError = "PostStartHookError"
)

// UnhealthyMessage is the message of the Unhealthy event for one failed attempt:
// "Liveness probe failed: <output>".
func UnhealthyMessage(t Type, output string) string {
	return fmt.Sprintf("%s probe failed: %s", t, output)
}

// KillingMessage is the message of the Killing event when a liveness or startup probe failed:
// "Container c failed liveness probe, will be restarted" (without ", will be restarted"
// when restartPolicy keeps the container dead).
func KillingMessage(containerName string, t Type, willRestart bool) string {
	msg := fmt.Sprintf("Container %s failed %s probe", containerName, strings.ToLower(t.String()))
	if willRestart {
		msg += ", will be restarted"
	}
	return msg
}

// PostStartKillMessage is the message of the Killing event sent when the kubelet kills a
// container whose postStart hook failed.
const PostStartKillMessage = "FailedPostStartHook"

// KillGracePeriod is the grace period of a kill caused by a failed liveness or startup probe:
// the probe's terminationGracePeriodSeconds when set, else the pod's (default 30 s).
func KillGracePeriod(pod *v1.Pod, c *v1.Container, t Type) int64 {
	if p := Probe(c, t); p != nil && p.TerminationGracePeriodSeconds != nil && t != Readiness {
		return *p.TerminationGracePeriodSeconds
	}
	if pod != nil && pod.Spec.TerminationGracePeriodSeconds != nil {
		return *pod.Spec.TerminationGracePeriodSeconds
	}
	return v1.DefaultTerminationGracePeriodSeconds
}

// StoppingMessage is the Killing event's message for an ordinary stop (pod deleted).
func StoppingMessage(containerName string) string {
	return fmt.Sprintf("Stopping container %s", containerName)
}
