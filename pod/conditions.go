package pod

import (
	"fmt"
	"strings"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Condition reasons the kubelet uses (pkg/kubelet/status/generate.go).
const (
	reasonUnknownContainerStatuses = "UnknownContainerStatuses"
	reasonPodCompleted             = "PodCompleted"
	reasonContainersNotReady       = "ContainersNotReady"
	reasonContainersNotInitialized = "ContainersNotInitialized"
)

// conditionsInput is what the pure condition functions read.
type conditionsInput struct {
	Spec         *v1.PodSpec
	InitStatuses []v1.ContainerStatus
	Statuses     []v1.ContainerStatus
	Phase        v1.PodPhase
	// SandboxReady: the pause exists and its network is set up (PodReadyToStartContainers).
	SandboxReady bool
}

func listMessage(unknown []string, unknownFmt string, bad []string, badFmt string) string {
	var parts []string
	if len(unknown) > 0 {
		parts = append(parts, fmt.Sprintf(unknownFmt, "["+strings.Join(unknown, " ")+"]"))
	}
	if len(bad) > 0 {
		parts = append(parts, fmt.Sprintf(badFmt, "["+strings.Join(bad, " ")+"]"))
	}
	return strings.Join(parts, ", ")
}

// initializedCondition is the kubelet's GeneratePodInitializedCondition.
func initializedCondition(in conditionsInput) v1.PodCondition {
	c := v1.PodCondition{Type: v1.PodInitialized, Status: v1.ConditionTrue}
	if len(in.Spec.InitContainers) == 0 {
		return c
	}
	var unknown, incomplete []string
	for i := range in.Spec.InitContainers {
		ic := &in.Spec.InitContainers[i]
		s, ok := findStatus(in.InitStatuses, ic.Name)
		if !ok {
			unknown = append(unknown, ic.Name)
			continue
		}
		if isSidecar(ic) && s.Started != nil && *s.Started {
			continue
		}
		if s.State.Terminated == nil || s.State.Terminated.ExitCode != 0 {
			incomplete = append(incomplete, ic.Name)
		}
	}
	if in.Phase == v1.PodSucceeded && len(unknown) == 0 {
		c.Reason = reasonPodCompleted
		return c
	}
	if anyAppContainerStarted(in.Spec, in.Statuses) {
		return c
	}
	msg := listMessage(unknown, "containers with unknown status: %s", incomplete, "containers with incomplete status: %s")
	if msg != "" {
		return v1.PodCondition{Type: v1.PodInitialized, Status: v1.ConditionFalse, Reason: reasonContainersNotInitialized, Message: msg}
	}
	return c
}

// containersReadyCondition is the kubelet's GenerateContainersReadyCondition.
func containersReadyCondition(in conditionsInput) v1.PodCondition {
	var unknown, unready []string
	for i := range in.Spec.InitContainers {
		ic := &in.Spec.InitContainers[i]
		if !isSidecar(ic) {
			continue
		}
		if s, ok := findStatus(in.InitStatuses, ic.Name); !ok {
			unknown = append(unknown, ic.Name)
		} else if !s.Ready {
			unready = append(unready, ic.Name)
		}
	}
	for _, c := range in.Spec.Containers {
		if s, ok := findStatus(in.Statuses, c.Name); !ok {
			unknown = append(unknown, c.Name)
		} else if !s.Ready {
			unready = append(unready, c.Name)
		}
	}
	if in.Phase == v1.PodSucceeded && len(unknown) == 0 {
		return v1.PodCondition{Type: v1.ContainersReady, Status: v1.ConditionFalse, Reason: reasonPodCompleted}
	}
	msg := listMessage(unknown, "containers with unknown status: %s", unready, "containers with unready status: %s")
	if msg != "" {
		return v1.PodCondition{Type: v1.ContainersReady, Status: v1.ConditionFalse, Reason: reasonContainersNotReady, Message: msg}
	}
	return v1.PodCondition{Type: v1.ContainersReady, Status: v1.ConditionTrue}
}

// readyCondition mirrors ContainersReady (podrun has no readiness gates to add).
func readyCondition(in conditionsInput) v1.PodCondition {
	c := containersReadyCondition(in)
	c.Type = v1.PodReady
	return c
}

func readyToStartCondition(in conditionsInput) v1.PodCondition {
	st := v1.ConditionFalse
	if in.SandboxReady {
		st = v1.ConditionTrue
	}
	return v1.PodCondition{Type: v1.PodReadyToStartContainers, Status: st}
}

// podConditions computes the kubelet's conditions in the order it writes them. The
// lastTransitionTime of a condition is carried over from old unless its status changed.
func podConditions(in conditionsInput, old []v1.PodCondition, now metav1.Time) []v1.PodCondition {
	next := []v1.PodCondition{
		readyToStartCondition(in),
		initializedCondition(in),
		readyCondition(in),
		containersReadyCondition(in),
		{Type: v1.PodScheduled, Status: v1.ConditionTrue},
	}
	for i := range next {
		next[i].LastTransitionTime = now
		for _, o := range old {
			if o.Type == next[i].Type && o.Status == next[i].Status {
				next[i].LastTransitionTime = o.LastTransitionTime
				if next[i].Type == v1.PodScheduled {
					next[i] = o
				}
			}
		}
	}
	return next
}
