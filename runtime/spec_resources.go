package runtime

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// CPU and oom_score_adj constants of the kubelet (pkg/kubelet/cm, pkg/kubelet/qos).
const (
	minCPUShares     = 2
	cpuSharesPerCPU  = 1024
	milliCPUPerCPU   = 1000
	cfsQuotaPeriod   = 100000 // µs, the kubelet's default --cpu-cfs-quota-period
	minCFSQuota      = 1000   // µs
	guaranteedOOMAdj = -997
	bestEffortOOMAdj = 1000
	// nodeCriticalPriorityClass pods are the last killed, like Guaranteed ones.
	nodeCriticalPriorityClass = "system-node-critical"
)

// MilliCPUToShares converts a CPU request to cgroup v1 cpu.shares as the kubelet does (runc
// maps shares to cgroup v2 cpu.weight itself).
func MilliCPUToShares(milliCPU int64) uint64 {
	if milliCPU <= 0 {
		return minCPUShares
	}
	shares := milliCPU * cpuSharesPerCPU / milliCPUPerCPU
	if shares < minCPUShares {
		return minCPUShares
	}
	return uint64(shares)
}

// MilliCPUToQuota converts a CPU limit to a CFS quota for period, as the kubelet does: 0 means
// no limit, and a tiny limit is raised to the kernel's 1ms minimum.
func MilliCPUToQuota(milliCPU, period int64) int64 {
	if milliCPU <= 0 {
		return 0
	}
	quota := milliCPU * period / milliCPUPerCPU
	if quota < minCFSQuota {
		return minCFSQuota
	}
	return quota
}

// effectiveRequests are the container's requests with a missing cpu or memory request taken
// from its limit, the API server's defaulting, so that an undefaulted pod is treated alike.
func effectiveRequests(c *v1.Container) v1.ResourceList {
	out := v1.ResourceList{}
	for name, q := range c.Resources.Requests {
		out[name] = q
	}
	for _, name := range []v1.ResourceName{v1.ResourceCPU, v1.ResourceMemory} {
		if _, ok := out[name]; !ok {
			if lim, ok := c.Resources.Limits[name]; ok {
				out[name] = lim
			}
		}
	}
	return out
}

// WithResources sets the container's cgroup limits as the kubelet computes them: cpu shares
// from the request (the limit when no request), CFS quota from the cpu limit, the memory limit,
// and the pids limit when the daemon configures one.
func WithResources(s *specs.Spec, in *SpecInput) error {
	c := in.Config.Container
	r := s.Linux.Resources
	req := effectiveRequests(c)
	cpuReq := req[v1.ResourceCPU]
	shares := MilliCPUToShares(cpuReq.MilliValue())
	r.CPU = &specs.LinuxCPU{Shares: &shares}
	if lim, ok := c.Resources.Limits[v1.ResourceCPU]; ok && !lim.IsZero() {
		quota, period := MilliCPUToQuota(lim.MilliValue(), cfsQuotaPeriod), uint64(cfsQuotaPeriod)
		r.CPU.Quota, r.CPU.Period = &quota, &period
	}
	if lim, ok := c.Resources.Limits[v1.ResourceMemory]; ok && lim.Value() > 0 {
		v := lim.Value()
		r.Memory = &specs.LinuxMemory{Limit: &v}
	}
	if in.PidsLimit > 0 {
		r.Pids = &specs.LinuxPids{Limit: &in.PidsLimit}
	}
	r.HugepageLimits = nil
	for name, lim := range c.Resources.Limits {
		size, ok := strings.CutPrefix(string(name), v1.ResourceHugePagesPrefix)
		if !ok {
			continue
		}
		q, err := resource.ParseQuantity(size)
		if err != nil {
			return fmt.Errorf("resource %s: bad page size: %w", name, err)
		}
		r.HugepageLimits = append(r.HugepageLimits, specs.LinuxHugepageLimit{Pagesize: hugePageSize(q.Value()), Limit: uint64(lim.Value())})
	}
	slices.SortFunc(r.HugepageLimits, func(a, b specs.LinuxHugepageLimit) int { return strings.Compare(a.Pagesize, b.Pagesize) })
	return nil
}

// hugePageSize names a page size as the cgroup files do ("2MB", "1GB", "64KB"), the form
// runc expects in hugepageLimits.
func hugePageSize(bytes int64) string {
	units := []string{"B", "KB", "MB", "GB", "TB"}
	i := 0
	for bytes >= 1024 && bytes%1024 == 0 && i < len(units)-1 {
		bytes /= 1024
		i++
	}
	return strconv.FormatInt(bytes, 10) + units[i]
}

// PodQOS is the pod's QoS class: status.qosClass when set, else computed as the kubelet does
// from the cpu and memory requests and limits of every container (init ones included).
func PodQOS(pod *v1.Pod) v1.PodQOSClass {
	if pod.Status.QOSClass != "" {
		return pod.Status.QOSClass
	}
	requests, limits := v1.ResourceList{}, v1.ResourceList{}
	guaranteed := true
	add := func(list v1.ResourceList, name v1.ResourceName, q resource.Quantity) {
		sum := list[name]
		sum.Add(q)
		list[name] = sum
	}
	all := append(append([]v1.Container(nil), pod.Spec.Containers...), pod.Spec.InitContainers...)
	for i := range all {
		c := &all[i]
		for name, q := range effectiveRequests(c) {
			if isQoSResource(name) && q.Sign() > 0 {
				add(requests, name, q)
			}
		}
		found := 0
		for name, q := range c.Resources.Limits {
			if isQoSResource(name) && q.Sign() > 0 {
				add(limits, name, q)
				found++
			}
		}
		if found < 2 {
			guaranteed = false
		}
	}
	if len(requests) == 0 && len(limits) == 0 {
		return v1.PodQOSBestEffort
	}
	if guaranteed && len(requests) == len(limits) {
		for name, req := range requests {
			if lim, ok := limits[name]; !ok || lim.Cmp(req) != 0 {
				return v1.PodQOSBurstable
			}
		}
		return v1.PodQOSGuaranteed
	}
	return v1.PodQOSBurstable
}

func isQoSResource(name v1.ResourceName) bool {
	return name == v1.ResourceCPU || name == v1.ResourceMemory
}

// ContainerOOMScoreAdj is the kubelet's oom_score_adj for a container: Guaranteed and
// node-critical pods -997, BestEffort 1000, Burstable 1000 - 1000*memoryRequest/memoryCapacity
// kept within [3, 999] (the kubelet's code floors at 1000+guaranteed = 3; the docs say 2).
// memoryCapacity <= 0 (unknown) gives Burstable containers 999.
func ContainerOOMScoreAdj(pod *v1.Pod, c *v1.Container, memoryCapacity int64) int {
	if pod.Spec.PriorityClassName == nodeCriticalPriorityClass {
		return guaranteedOOMAdj
	}
	switch PodQOS(pod) {
	case v1.PodQOSGuaranteed:
		return guaranteedOOMAdj
	case v1.PodQOSBestEffort:
		return bestEffortOOMAdj
	}
	if memoryCapacity <= 0 {
		return bestEffortOOMAdj - 1
	}
	memReq := effectiveRequests(c)[v1.ResourceMemory]
	adj := 1000 - (1000*memReq.Value())/memoryCapacity
	// A sidecar (restartable init container) must not be killed before the regular containers
	// it serves: it gets at most the score of the one with the smallest memory request.
	if isSidecar(pod, c) {
		adj = min(adj, 1000-(1000*minRegularMemoryRequest(pod))/memoryCapacity)
	}
	switch {
	case adj < 1000+guaranteedOOMAdj:
		return 1000 + guaranteedOOMAdj
	case adj >= bestEffortOOMAdj:
		return bestEffortOOMAdj - 1
	}
	return int(adj)
}

// isSidecar reports whether c is one of the pod's init containers with restartPolicy Always.
func isSidecar(pod *v1.Pod, c *v1.Container) bool {
	if c.RestartPolicy == nil || *c.RestartPolicy != v1.ContainerRestartPolicyAlways {
		return false
	}
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == c.Name {
			return true
		}
	}
	return false
}

// minRegularMemoryRequest is the smallest memory request among the pod's regular containers
// (0 when one has none), as the kubelet's minRegularContainerMemory.
func minRegularMemoryRequest(pod *v1.Pod) int64 {
	var least int64 = -1
	for i := range pod.Spec.Containers {
		q := effectiveRequests(&pod.Spec.Containers[i])[v1.ResourceMemory]
		if v := q.Value(); least < 0 || v < least {
			least = v
		}
	}
	return max(least, 0)
}

// WithOOMScoreAdj sets the kubelet's oom_score_adj, raised to OOMScoreAdjMin: the daemon
// cannot give a child a lower value than its own without CAP_SYS_RESOURCE.
func WithOOMScoreAdj(s *specs.Spec, in *SpecInput) error {
	adj := max(ContainerOOMScoreAdj(in.Config.Pod, in.Config.Container, in.MemoryCapacity), in.OOMScoreAdjMin)
	s.Process.OOMScoreAdj = &adj
	return nil
}
