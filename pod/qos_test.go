package pod

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func rl(cpu, mem string) v1.ResourceList {
	l := v1.ResourceList{}
	if cpu != "" {
		l[v1.ResourceCPU] = resource.MustParse(cpu)
	}
	if mem != "" {
		l[v1.ResourceMemory] = resource.MustParse(mem)
	}
	return l
}

func TestPodQOS(t *testing.T) {
	c := func(req, lim v1.ResourceList) v1.Container {
		return v1.Container{Resources: v1.ResourceRequirements{Requests: req, Limits: lim}}
	}
	tests := []struct {
		name  string
		inits []v1.Container
		apps  []v1.Container
		want  v1.PodQOSClass
	}{
		{"nothing", nil, []v1.Container{c(nil, nil)}, v1.PodQOSBestEffort},
		{"zero requests", nil, []v1.Container{c(rl("0", "0"), nil)}, v1.PodQOSBestEffort},
		{"extended resource only", nil, []v1.Container{c(v1.ResourceList{"nvidia.com/gpu": resource.MustParse("1")}, nil)}, v1.PodQOSBestEffort},
		{"requests only", nil, []v1.Container{c(rl("100m", ""), nil)}, v1.PodQOSBurstable},
		{"equal", nil, []v1.Container{c(rl("1", "1Gi"), rl("1", "1Gi"))}, v1.PodQOSGuaranteed},
		{"equal, different notation", nil, []v1.Container{c(rl("1000m", "1024Mi"), rl("1", "1Gi"))}, v1.PodQOSGuaranteed},
		{"limit cpu only", nil, []v1.Container{c(rl("1", ""), rl("1", ""))}, v1.PodQOSBurstable},
		{"requests below limits", nil, []v1.Container{c(rl("500m", "1Gi"), rl("1", "1Gi"))}, v1.PodQOSBurstable},
		{"one best-effort container", nil, []v1.Container{c(rl("1", "1Gi"), rl("1", "1Gi")), c(nil, nil)}, v1.PodQOSBurstable},
		{"init counts", []v1.Container{c(rl("1", ""), nil)}, []v1.Container{c(nil, nil)}, v1.PodQOSBurstable},
		{"all guaranteed with init", []v1.Container{c(rl("1", "1Gi"), rl("1", "1Gi"))}, []v1.Container{c(rl("2", "2Gi"), rl("2", "2Gi"))}, v1.PodQOSGuaranteed},
	}
	for _, tc := range tests {
		if got := podQOS(&v1.PodSpec{InitContainers: tc.inits, Containers: tc.apps}); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}
