package pod

import (
	"testing"

	v1 "k8s.io/api/core/v1"
)

func waiting(name, reason string) v1.ContainerStatus {
	return v1.ContainerStatus{Name: name, State: v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: reason}}}
}

func running(name string, ready bool) v1.ContainerStatus {
	return v1.ContainerStatus{Name: name, Ready: ready, Started: boolPtr(true), State: v1.ContainerState{Running: &v1.ContainerStateRunning{}}}
}

func terminated(name string, code int32) v1.ContainerStatus {
	return v1.ContainerStatus{Name: name, State: v1.ContainerState{Terminated: &v1.ContainerStateTerminated{ExitCode: code}}}
}

func crashLooping(name string, lastCode int32) v1.ContainerStatus {
	s := waiting(name, reasonCrashLoopBackOff)
	s.LastTerminationState = v1.ContainerState{Terminated: &v1.ContainerStateTerminated{ExitCode: lastCode}}
	return s
}

func specOf(policy v1.RestartPolicy, inits []string, apps ...string) *v1.PodSpec {
	s := &v1.PodSpec{RestartPolicy: policy}
	for _, n := range inits {
		s.InitContainers = append(s.InitContainers, v1.Container{Name: n})
	}
	for _, n := range apps {
		s.Containers = append(s.Containers, v1.Container{Name: n})
	}
	return s
}

func TestPodPhase(t *testing.T) {
	always, never, onFailure := v1.RestartPolicyAlways, v1.RestartPolicyNever, v1.RestartPolicyOnFailure
	sidecar := specOf(never, nil, "app")
	rp := v1.ContainerRestartPolicyAlways
	sidecar.InitContainers = []v1.Container{{Name: "side", RestartPolicy: &rp}}
	tests := []struct {
		name  string
		spec  *v1.PodSpec
		inits []v1.ContainerStatus
		apps  []v1.ContainerStatus
		want  v1.PodPhase
	}{
		{"no statuses", specOf(always, nil, "a"), nil, nil, v1.PodPending},
		{"creating", specOf(always, nil, "a"), nil, []v1.ContainerStatus{waiting("a", reasonContainerCreating)}, v1.PodPending},
		{"running", specOf(always, nil, "a", "b"), nil, []v1.ContainerStatus{running("a", true), running("b", false)}, v1.PodRunning},
		{"one running one waiting", specOf(always, nil, "a", "b"), nil, []v1.ContainerStatus{running("a", true), waiting("b", reasonContainerCreating)}, v1.PodPending},
		{"init running", specOf(always, []string{"i"}, "a"), []v1.ContainerStatus{running("i", false)}, []v1.ContainerStatus{waiting("a", reasonPodInitializing)}, v1.PodPending},
		{"init done app creating", specOf(always, []string{"i"}, "a"), []v1.ContainerStatus{terminated("i", 0)}, []v1.ContainerStatus{waiting("a", reasonPodInitializing)}, v1.PodPending},
		{"init failed never", specOf(never, []string{"i"}, "a"), []v1.ContainerStatus{terminated("i", 1)}, []v1.ContainerStatus{waiting("a", reasonPodInitializing)}, v1.PodFailed},
		{"init crashlooping always", specOf(always, []string{"i"}, "a"), []v1.ContainerStatus{crashLooping("i", 1)}, []v1.ContainerStatus{waiting("a", reasonPodInitializing)}, v1.PodPending},
		{"always all exited", specOf(always, nil, "a"), nil, []v1.ContainerStatus{terminated("a", 0)}, v1.PodRunning},
		{"always crashloop", specOf(always, nil, "a"), nil, []v1.ContainerStatus{crashLooping("a", 1)}, v1.PodRunning},
		{"never succeeded", specOf(never, nil, "a", "b"), nil, []v1.ContainerStatus{terminated("a", 0), terminated("b", 0)}, v1.PodSucceeded},
		{"never one failed", specOf(never, nil, "a", "b"), nil, []v1.ContainerStatus{terminated("a", 0), terminated("b", 2)}, v1.PodFailed},
		{"never one still running", specOf(never, nil, "a", "b"), nil, []v1.ContainerStatus{terminated("a", 2), running("b", true)}, v1.PodRunning},
		{"onfailure succeeded", specOf(onFailure, nil, "a"), nil, []v1.ContainerStatus{terminated("a", 0)}, v1.PodSucceeded},
		{"onfailure failed restarts", specOf(onFailure, nil, "a"), nil, []v1.ContainerStatus{terminated("a", 1)}, v1.PodRunning},
		{"sidecar not started", sidecar, []v1.ContainerStatus{waiting("side", reasonPodInitializing)}, []v1.ContainerStatus{waiting("app", reasonPodInitializing)}, v1.PodPending},
		{"sidecar running app done", sidecar, []v1.ContainerStatus{running("side", true)}, []v1.ContainerStatus{terminated("app", 0)}, v1.PodSucceeded},
	}
	for _, tc := range tests {
		if got := podPhase(tc.spec, tc.inits, tc.apps); got != tc.want {
			t.Errorf("%s: phase = %s, want %s", tc.name, got, tc.want)
		}
	}
}
