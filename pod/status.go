package pod

import (
	"strings"
	"time"

	"github.com/podrun/podrun/cri"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// containerIDPrefix is the runtime name in status.containerStatuses[].containerID.
const containerIDPrefix = "podrun://"

// initialContainerStatuses are the statuses the kubelet reports before anything ran: every
// container waiting, reason PodInitializing when the pod has init containers, else
// ContainerCreating.
func initialContainerStatuses(spec *v1.PodSpec) (inits, apps []v1.ContainerStatus) {
	reason := reasonContainerCreating
	if len(spec.InitContainers) > 0 {
		reason = reasonPodInitializing
	}
	mk := func(c v1.Container) v1.ContainerStatus {
		f := false
		return v1.ContainerStatus{
			Name:    c.Name,
			Image:   c.Image,
			State:   v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: reason}},
			Started: &f,
		}
	}
	for _, c := range spec.InitContainers {
		inits = append(inits, mk(c))
	}
	for _, c := range spec.Containers {
		apps = append(apps, mk(c))
	}
	return inits, apps
}

// imageRef is status.imageID: the repo digest when the image has one, else its config digest.
func imageRef(img *cri.Image) string {
	if img == nil {
		return ""
	}
	if len(img.RepoDigests) > 0 {
		return img.RepoDigests[0]
	}
	return img.ID
}

// terminatedState turns the runtime's final status into the Kubernetes one.
func terminatedState(cs *cri.ContainerStatus, message string, now time.Time) *v1.ContainerStateTerminated {
	reason := cs.Reason
	if reason == "" {
		reason = "Completed"
		if cs.ExitCode != 0 {
			reason = "Error"
		}
	}
	finished := cs.FinishedAt
	if finished.IsZero() {
		finished = now
	}
	t := &v1.ContainerStateTerminated{
		ExitCode:    int32(cs.ExitCode),
		Signal:      int32(cs.Signal),
		Reason:      reason,
		Message:     message,
		FinishedAt:  metav1.NewTime(finished),
		ContainerID: containerIDPrefix + cs.ID,
	}
	if !cs.StartedAt.IsZero() {
		t.StartedAt = metav1.NewTime(cs.StartedAt)
	}
	return t
}

func trimID(s string) string { return strings.TrimPrefix(s, containerIDPrefix) }

func boolPtr(b bool) *bool { return &b }
