package pod

import (
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestConditions(t *testing.T) {
	tests := []struct {
		name string
		in   conditionsInput
		want map[v1.PodConditionType]v1.PodCondition // Type → Status/Reason/Message
	}{
		{"running ready", conditionsInput{Spec: specOf(v1.RestartPolicyAlways, nil, "a"), Statuses: []v1.ContainerStatus{running("a", true)},
			Phase: v1.PodRunning, SandboxReady: true}, map[v1.PodConditionType]v1.PodCondition{
			v1.PodReadyToStartContainers: {Status: v1.ConditionTrue},
			v1.PodInitialized:            {Status: v1.ConditionTrue},
			v1.PodReady:                  {Status: v1.ConditionTrue},
			v1.ContainersReady:           {Status: v1.ConditionTrue},
			v1.PodScheduled:              {Status: v1.ConditionTrue},
		}},
		{"two unready", conditionsInput{Spec: specOf(v1.RestartPolicyAlways, nil, "a", "b", "c"),
			Statuses: []v1.ContainerStatus{waiting("a", reasonContainerCreating), running("b", true), crashLooping("c", 1)}, Phase: v1.PodPending},
			map[v1.PodConditionType]v1.PodCondition{
				v1.PodReadyToStartContainers: {Status: v1.ConditionFalse},
				v1.PodReady:                  {Status: v1.ConditionFalse, Reason: reasonContainersNotReady, Message: "containers with unready status: [a c]"},
				v1.ContainersReady:           {Status: v1.ConditionFalse, Reason: reasonContainersNotReady, Message: "containers with unready status: [a c]"},
			}},
		{"initializing", conditionsInput{Spec: specOf(v1.RestartPolicyAlways, []string{"i1", "i2"}, "a"),
			InitStatuses: []v1.ContainerStatus{terminated("i1", 0), running("i2", false)},
			Statuses:     []v1.ContainerStatus{waiting("a", reasonPodInitializing)}, Phase: v1.PodPending},
			map[v1.PodConditionType]v1.PodCondition{
				v1.PodInitialized: {Status: v1.ConditionFalse, Reason: reasonContainersNotInitialized, Message: "containers with incomplete status: [i2]"},
			}},
		{"unknown status", conditionsInput{Spec: specOf(v1.RestartPolicyAlways, nil, "a", "b"), Statuses: []v1.ContainerStatus{waiting("b", "")}},
			map[v1.PodConditionType]v1.PodCondition{
				v1.ContainersReady: {Status: v1.ConditionFalse, Reason: reasonContainersNotReady, Message: "containers with unknown status: [a], containers with unready status: [b]"},
			}},
		{"succeeded", conditionsInput{Spec: specOf(v1.RestartPolicyNever, []string{"i"}, "a"), InitStatuses: []v1.ContainerStatus{terminated("i", 0)},
			Statuses: []v1.ContainerStatus{terminated("a", 0)}, Phase: v1.PodSucceeded},
			map[v1.PodConditionType]v1.PodCondition{
				v1.PodInitialized:  {Status: v1.ConditionTrue, Reason: reasonPodCompleted},
				v1.PodReady:        {Status: v1.ConditionFalse, Reason: reasonPodCompleted},
				v1.ContainersReady: {Status: v1.ConditionFalse, Reason: reasonPodCompleted},
			}},
		{"failed", conditionsInput{Spec: specOf(v1.RestartPolicyNever, nil, "a"), Statuses: []v1.ContainerStatus{terminated("a", 1)}, Phase: v1.PodFailed},
			map[v1.PodConditionType]v1.PodCondition{
				v1.PodReady: {Status: v1.ConditionFalse, Reason: reasonContainersNotReady, Message: "containers with unready status: [a]"},
			}},
	}
	now := metav1.NewTime(time.Unix(1000, 0))
	for _, tc := range tests {
		got := podConditions(tc.in, nil, now)
		if len(got) != 5 || got[0].Type != v1.PodReadyToStartContainers || got[1].Type != v1.PodInitialized ||
			got[2].Type != v1.PodReady || got[3].Type != v1.ContainersReady || got[4].Type != v1.PodScheduled {
			t.Fatalf("%s: order %+v", tc.name, got)
		}
		for _, c := range got {
			w, ok := tc.want[c.Type]
			if !ok {
				continue
			}
			if c.Status != w.Status || c.Reason != w.Reason || c.Message != w.Message {
				t.Errorf("%s: %s = %s/%s/%q, want %s/%s/%q", tc.name, c.Type, c.Status, c.Reason, c.Message, w.Status, w.Reason, w.Message)
			}
		}
	}
}

func TestConditionTransitionTimes(t *testing.T) {
	spec := specOf(v1.RestartPolicyAlways, nil, "a")
	t0, t1, t2 := metav1.NewTime(time.Unix(100, 0)), metav1.NewTime(time.Unix(200, 0)), metav1.NewTime(time.Unix(300, 0))
	c0 := podConditions(conditionsInput{Spec: spec, Statuses: []v1.ContainerStatus{waiting("a", "")}}, nil, t0)
	c1 := podConditions(conditionsInput{Spec: spec, Statuses: []v1.ContainerStatus{running("a", true)}, SandboxReady: true}, c0, t1)
	c2 := podConditions(conditionsInput{Spec: spec, Statuses: []v1.ContainerStatus{running("a", true)}, SandboxReady: true}, c1, t2)
	for i := range c2 {
		want := t1 // every condition but Initialized and PodScheduled flipped at t1
		if c2[i].Type == v1.PodInitialized || c2[i].Type == v1.PodScheduled {
			want = t0
		}
		if !c2[i].LastTransitionTime.Equal(&want) {
			t.Errorf("%s: lastTransitionTime %v, want %v", c2[i].Type, c2[i].LastTransitionTime, want)
		}
	}
}
