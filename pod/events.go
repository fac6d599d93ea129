package pod

import (
	"fmt"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
)

// Event reasons and the kubelet's message formats (pkg/kubelet/events/event.go and the
// places in kuberuntime that record them).
const (
	evScheduled             = "Scheduled"
	evPulling               = "Pulling"
	evPulled                = "Pulled"
	evFailed                = "Failed"
	evBackOff               = "BackOff"
	evCreated               = "Created"
	evStarted               = "Started"
	evKilling               = "Killing"
	evErrImageNeverPull     = "ErrImageNeverPull"
	evFailedCreateSandbox   = "FailedCreatePodSandBox"
	evSandboxChanged        = "SandboxChanged"
	evFailedMount           = "FailedMount"
	evFailedPostStartHook   = "FailedPostStartHook"
	evFailedPreStopHook     = "FailedPreStopHook"
	evFailedKillPod         = "FailedKillPod"
	evUnhealthy             = "Unhealthy"
	msgScheduled            = "Successfully assigned %s/%s to %s"
	msgAlreadyPresent       = "Container image %q already present on machine"
	msgPulling              = "Pulling image %q"
	msgPulled               = "Successfully pulled image %q in %v (%v including waiting). Image size: %d bytes."
	msgPullFailed           = "Failed to pull image %q: %v"
	msgNeverPull            = "Container image %q is not present with pull policy of Never"
	msgPullBackOff          = "Back-off pulling image %q"
	msgCreated              = "Created container: %s"
	msgStarted              = "Started container %s"
	msgKilling              = "Stopping container %s"
	msgBackOffRestart       = "Back-off restarting failed container %s in pod %s"
	msgCrashLoop            = "back-off %s restarting failed container=%s pod=%s"
	msgFailedCreateSandbox  = "Failed to create pod sandbox: %v"
	msgSandboxChanged       = "Pod sandbox changed, it will be killed and re-created."
	msgFailedMount          = "MountVolume.SetUp failed for volume %q : %v"
	componentKubelet        = "kubelet"
	componentScheduler      = "default-scheduler"
	maxEventsPerPod         = 1000
	reasonContainerCreating = "ContainerCreating"
	reasonPodInitializing   = "PodInitializing"
	reasonCrashLoopBackOff  = "CrashLoopBackOff"
	reasonErrImagePull      = "ErrImagePull"
	reasonImagePullBackOff  = "ImagePullBackOff"
	reasonCreateConfigError = "CreateContainerConfigError"
	reasonCreateError       = "CreateContainerError"
	reasonStartError        = "StartError"
)

// formatPod is the kubelet's format.Pod: name_namespace(uid).
func formatPod(p *v1.Pod) string {
	return fmt.Sprintf("%s_%s(%s)", p.Name, p.Namespace, p.UID)
}

// eventRef says what an event is about: the pod, or one of its containers.
type eventRef struct {
	fieldPath string // "" for the pod; "spec.containers{name}" or "spec.initContainers{name}"
	component string // "" = kubelet
}

func containerRef(c string, init bool) eventRef {
	if init {
		return eventRef{fieldPath: "spec.initContainers{" + c + "}"}
	}
	return eventRef{fieldPath: "spec.containers{" + c + "}"}
}

// addEvent appends an event to evs, or bumps the count and lastTimestamp of an identical
// earlier one (same object, type, reason and message), as the client-go event correlator does.
func addEvent(evs []v1.Event, p *v1.Pod, node string, ref eventRef, typ, reason, msg string, now time.Time) []v1.Event {
	ts := metav1.NewTime(now)
	for i := len(evs) - 1; i >= 0; i-- {
		e := &evs[i]
		if e.InvolvedObject.FieldPath == ref.fieldPath && e.Type == typ && e.Reason == reason && e.Message == msg {
			e.Count++
			e.LastTimestamp = ts
			// Move it to the end so "oldest first" stays ordered by last sighting.
			ev := *e
			evs = append(evs[:i], evs[i+1:]...)
			return append(evs, ev)
		}
	}
	comp := ref.component
	if comp == "" {
		comp = componentKubelet
	}
	ev := v1.Event{
		ObjectMeta: metav1.ObjectMeta{
			Name:              fmt.Sprintf("%s.%x%s", p.Name, now.UnixNano(), utilrand.String(4)),
			Namespace:         p.Namespace,
			CreationTimestamp: ts,
		},
		InvolvedObject: v1.ObjectReference{
			Kind:            "Pod",
			Namespace:       p.Namespace,
			Name:            p.Name,
			UID:             p.UID,
			APIVersion:      "v1",
			ResourceVersion: p.ResourceVersion,
			FieldPath:       ref.fieldPath,
		},
		Reason:              reason,
		Message:             msg,
		Source:              v1.EventSource{Component: comp, Host: node},
		FirstTimestamp:      ts,
		LastTimestamp:       ts,
		Count:               1,
		Type:                typ,
		ReportingController: comp,
		ReportingInstance:   node,
	}
	if comp == componentScheduler {
		ev.Source.Host = ""
	}
	evs = append(evs, ev)
	if len(evs) > maxEventsPerPod {
		evs = evs[len(evs)-maxEventsPerPod:]
	}
	return evs
}
