package runtime

import (
	"errors"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestMilliCPUConversions(t *testing.T) {
	for _, tt := range []struct {
		milli  int64
		shares uint64
		quota  int64
	}{
		{0, 2, 0}, {1, 2, 1000}, {2, 2, 1000}, {5, 5, 1000}, {10, 10, 1000},
		{100, 102, 10000}, {250, 256, 25000}, {1000, 1024, 100000}, {1500, 1536, 150000},
	} {
		if got := MilliCPUToShares(tt.milli); got != tt.shares {
			t.Errorf("MilliCPUToShares(%d) = %d, want %d", tt.milli, got, tt.shares)
		}
		if got := MilliCPUToQuota(tt.milli, 100000); got != tt.quota {
			t.Errorf("MilliCPUToQuota(%d) = %d, want %d", tt.milli, got, tt.quota)
		}
	}
}

type res = map[v1.ResourceName]string

func container(name string, limits, requests res) v1.Container {
	c := v1.Container{Name: name}
	rl := func(m res) v1.ResourceList {
		if m == nil {
			return nil
		}
		out := v1.ResourceList{}
		for k, v := range m {
			out[k] = resource.MustParse(v)
		}
		return out
	}
	c.Resources = v1.ResourceRequirements{Limits: rl(limits), Requests: rl(requests)}
	return c
}

func TestPodQOS(t *testing.T) {
	full := res{"cpu": "1", "memory": "1Gi"}
	tests := []struct {
		name string
		pod  v1.Pod
		want v1.PodQOSClass
	}{
		{"no resources", v1.Pod{Spec: v1.PodSpec{Containers: []v1.Container{container("a", nil, nil)}}}, v1.PodQOSBestEffort},
		{"only ephemeral-storage", v1.Pod{Spec: v1.PodSpec{Containers: []v1.Container{container("a", res{"ephemeral-storage": "1Gi"}, nil)}}}, v1.PodQOSBestEffort},
		{"limits = requests", v1.Pod{Spec: v1.PodSpec{Containers: []v1.Container{container("a", full, full)}}}, v1.PodQOSGuaranteed},
		{"limits only (requests default to limits)", v1.Pod{Spec: v1.PodSpec{Containers: []v1.Container{container("a", full, nil)}}}, v1.PodQOSGuaranteed},
		{"requests lower", v1.Pod{Spec: v1.PodSpec{Containers: []v1.Container{container("a", full, res{"cpu": "500m", "memory": "1Gi"})}}}, v1.PodQOSBurstable},
		{"memory limit only", v1.Pod{Spec: v1.PodSpec{Containers: []v1.Container{container("a", res{"memory": "1Gi"}, nil)}}}, v1.PodQOSBurstable},
		{"one container without resources", v1.Pod{Spec: v1.PodSpec{Containers: []v1.Container{container("a", full, nil), container("b", nil, nil)}}}, v1.PodQOSBurstable},
		{"init container counts", v1.Pod{Spec: v1.PodSpec{Containers: []v1.Container{container("a", full, nil)}, InitContainers: []v1.Container{container("i", nil, res{"cpu": "1"})}}}, v1.PodQOSBurstable},
		{"status wins", v1.Pod{Status: v1.PodStatus{QOSClass: v1.PodQOSGuaranteed}}, v1.PodQOSGuaranteed},
	}
	for _, tt := range tests {
		if got := PodQOS(&tt.pod); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestContainerOOMScoreAdj(t *testing.T) {
	const gi = 1 << 30
	burst := func(memReq string) (*v1.Pod, *v1.Container) {
		c := container("a", nil, res{"memory": memReq})
		pod := &v1.Pod{Spec: v1.PodSpec{Containers: []v1.Container{c}}}
		return pod, &pod.Spec.Containers[0]
	}
	tests := []struct {
		name   string
		memReq string // Burstable with this memory request; "" = see pod
		pod    *v1.Pod
		memCap int64
		want   int
	}{
		{name: "BestEffort", pod: &v1.Pod{Spec: v1.PodSpec{Containers: []v1.Container{container("a", nil, nil)}}}, memCap: 8 * gi, want: 1000},
		{name: "Guaranteed", pod: &v1.Pod{Spec: v1.PodSpec{Containers: []v1.Container{container("a", res{"cpu": "1", "memory": "1Gi"}, nil)}}}, memCap: 8 * gi, want: -997},
		{name: "node critical", pod: &v1.Pod{Spec: v1.PodSpec{PriorityClassName: "system-node-critical", Containers: []v1.Container{container("a", nil, nil)}}}, memCap: 8 * gi, want: -997},
		{name: "Burstable 10%", memReq: "800Mi", memCap: 8000 << 20, want: 900},
		{name: "Burstable 1Gi of 8Gi", memReq: "1Gi", memCap: 8 * gi, want: 875},
		{name: "Burstable tiny request: 999 not 1000", memReq: "1", memCap: 8 * gi, want: 999},
		{name: "Burstable whole node: floor 3", memReq: "8Gi", memCap: 8 * gi, want: 3},
		{name: "Burstable more than the node", memReq: "16Gi", memCap: 8 * gi, want: 3},
		{name: "Burstable unknown capacity", memReq: "1Gi", memCap: 0, want: 999},
	}
	// A sidecar with a small request is protected like the regular container it serves.
	always := v1.ContainerRestartPolicyAlways
	side := container("side", nil, res{"memory": "100Mi"})
	side.RestartPolicy = &always
	plainInit := container("init", nil, res{"memory": "100Mi"})
	sp := &v1.Pod{Spec: v1.PodSpec{
		InitContainers: []v1.Container{side, plainInit},
		Containers:     []v1.Container{container("a", nil, res{"memory": "2Gi"}), container("b", nil, res{"memory": "1Gi"})},
	}}
	if got := ContainerOOMScoreAdj(sp, &sp.Spec.InitContainers[0], 8*gi); got != 875 {
		t.Errorf("sidecar: %d, want 875 (regular container b's)", got)
	}
	if got := ContainerOOMScoreAdj(sp, &sp.Spec.InitContainers[1], 8*gi); got != 988 {
		t.Errorf("plain init container: %d, want 988", got)
	}
	for _, tt := range tests {
		pod := tt.pod
		var c *v1.Container
		if tt.memReq != "" {
			pod, c = burst(tt.memReq)
		} else {
			c = &pod.Spec.Containers[0]
		}
		if got := ContainerOOMScoreAdj(pod, c, tt.memCap); got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestWithOOMScoreAdj(t *testing.T) {
	guaranteed := resources(res{"cpu": "1", "memory": "1Gi"}, nil)
	for _, tt := range []struct {
		name string
		mut  []func(*SpecInput)
		min  int
		want int
	}{
		{"BestEffort", nil, 0, 1000},
		{"Guaranteed, daemon at 0", []func(*SpecInput){guaranteed}, 0, 0},
		{"Guaranteed, daemon at -999", []func(*SpecInput){guaranteed}, -999, -997},
		{"Guaranteed, daemon at -500", []func(*SpecInput){guaranteed}, -500, -500},
	} {
		in := testInput(t, tt.mut...)
		in.OOMScoreAdjMin = tt.min
		s, _ := applyOpt(t, WithOOMScoreAdj, in)
		if *s.Process.OOMScoreAdj != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, *s.Process.OOMScoreAdj, tt.want)
		}
	}
}

func TestWithResources(t *testing.T) {
	for _, tt := range []struct {
		name         string
		limits, reqs res
		pids         int64
		shares       uint64
		quota        int64 // 0 = unset
		mem          int64 // 0 = unset
	}{
		{name: "none", shares: 2},
		{name: "requests only", reqs: res{"cpu": "250m", "memory": "64Mi"}, shares: 256},
		{name: "limits only: shares from the limit", limits: res{"cpu": "2", "memory": "1Gi"}, shares: 2048, quota: 200000, mem: 1 << 30},
		{name: "both", limits: res{"cpu": "500m"}, reqs: res{"cpu": "100m"}, shares: 102, quota: 50000},
		{name: "tiny limit", limits: res{"cpu": "1m"}, reqs: res{"cpu": "1m"}, shares: 2, quota: 1000},
		{name: "pids", pids: 1024, shares: 2},
		{name: "hugepages", limits: res{"hugepages-2Mi": "4Mi", "hugepages-1Gi": "2Gi", "memory": "1Gi"}, reqs: res{"memory": "1Gi"}, shares: 2, mem: 1 << 30},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := testInput(t, resources(tt.limits, tt.reqs))
			in.PidsLimit = tt.pids
			s, err := applyOpt(t, WithResources, in)
			if err != nil {
				t.Fatal(err)
			}
			r := s.Linux.Resources
			if *r.CPU.Shares != tt.shares {
				t.Errorf("shares %d, want %d", *r.CPU.Shares, tt.shares)
			}
			if (r.CPU.Quota == nil) != (tt.quota == 0) || (r.CPU.Quota != nil && (*r.CPU.Quota != tt.quota || *r.CPU.Period != 100000)) {
				t.Errorf("quota %v period %v, want %d", r.CPU.Quota, r.CPU.Period, tt.quota)
			}
			if (r.Memory == nil) != (tt.mem == 0) || (r.Memory != nil && *r.Memory.Limit != tt.mem) {
				t.Errorf("memory %+v, want %d", r.Memory, tt.mem)
			}
			if (r.Pids == nil) != (tt.pids == 0) || (r.Pids != nil && *r.Pids.Limit != tt.pids) {
				t.Errorf("pids %+v, want %d", r.Pids, tt.pids)
			}
			if tt.name == "hugepages" {
				want := []specs.LinuxHugepageLimit{{Pagesize: "1GB", Limit: 2 << 30}, {Pagesize: "2MB", Limit: 4 << 20}}
				if !slices.Equal(r.HugepageLimits, want) {
					t.Errorf("hugepages %+v, want %+v", r.HugepageLimits, want)
				}
			} else if len(r.HugepageLimits) != 0 {
				t.Errorf("hugepages %+v", r.HugepageLimits)
			}
		})
	}
}

func TestValidateSysctls(t *testing.T) {
	tests := []struct {
		name    string
		sysctls []string
		allowed []string
		hostNet bool
		hostIPC bool
		wantMsg string // "" = accepted
	}{
		{name: "none"},
		{name: "safe", sysctls: []string{"net.ipv4.ip_local_port_range", "kernel.shm_rmid_forced", "net/ipv4/tcp_syncookies"}},
		{name: "unsafe, not allowed", sysctls: []string{"net.core.somaxconn"}, wantMsg: `forbidden sysctl: "net.core.somaxconn" not allowlisted`},
		{name: "unsafe, allowed by pattern", sysctls: []string{"net.core.somaxconn"}, allowed: []string{"net.core.*"}},
		{name: "unsafe, allowed by name", sysctls: []string{"kernel.msgmax"}, allowed: []string{"kernel.msgmax"}},
		{name: "pattern is a prefix, not a glob", sysctls: []string{"net.core.somaxconn"}, allowed: []string{"net.c*"}},
		{name: "not namespaced even if allowed", sysctls: []string{"vm.swappiness"}, allowed: []string{"vm.*"}, wantMsg: `forbidden sysctl: "vm.swappiness" not allowlisted`},
		{name: "net with hostNetwork", sysctls: []string{"net.ipv4.tcp_syncookies"}, hostNet: true, wantMsg: `forbidden sysctl: "net.ipv4.tcp_syncookies" not allowed with host net enabled`},
		{name: "ipc with hostIPC", sysctls: []string{"kernel.shm_rmid_forced"}, hostIPC: true, wantMsg: `forbidden sysctl: "kernel.shm_rmid_forced" not allowed with host ipc enabled`},
		{name: "ipc with hostNetwork is fine", sysctls: []string{"kernel.shm_rmid_forced"}, hostNet: true},
	}
	for _, tt := range tests {
		pod := &v1.Pod{Spec: v1.PodSpec{HostNetwork: tt.hostNet, HostIPC: tt.hostIPC, SecurityContext: &v1.PodSecurityContext{}}}
		for _, s := range tt.sysctls {
			pod.Spec.SecurityContext.Sysctls = append(pod.Spec.SecurityContext.Sysctls, v1.Sysctl{Name: s, Value: "1"})
		}
		err := ValidateSysctls(pod, tt.allowed)
		if tt.wantMsg == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Reason != ReasonSysctlForbidden || ce.Message != tt.wantMsg {
			t.Errorf("%s: err %v, want %q", tt.name, err, tt.wantMsg)
		}
	}
	if err := ValidateSysctls(&v1.Pod{}, nil); err != nil {
		t.Errorf("no securityContext: %v", err)
	}
}
