package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// cgroupPaths parses /proc/PID/cgroup into controller list → path ("" key for cgroup v2).
func cgroupPaths(t *testing.T, pid int) map[string]string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatalf("cgroup of %d: %v", pid, err)
	}
	out := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(l, ":", 3)
		if len(parts) == 3 {
			out[parts[1]] = parts[2]
		}
	}
	return out
}

// Every container has its own cgroup below the pod's cgroup, below --cgroup-root, in every
// hierarchy (cgroup v1 controllers and the unified one); memory limits reach the kernel.
func TestCgroups(t *testing.T) {
	e := newEnv(t)
	e.runWait(`apiVersion: v1
kind: Pod
metadata:
  name: cgpod
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: limited
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sleep", "3600"]
    resources:
      limits: {memory: 64Mi, cpu: 500m}
  - name: free
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sleep", "3600"]
`)
	p := e.waitRunning("cgpod", 30*time.Second)
	r := e.inspect("cgpod")
	podPrefix := "/" + e.cgroupRoot + "/pod" + string(p.UID)
	seen := map[string]string{}
	for _, c := range []string{"limited", "free"} {
		pid := r.containerPid(t, c)
		for ctrl, path := range cgroupPaths(t, pid) {
			if ctrl == "name=systemd" || strings.HasPrefix(ctrl, "name=") {
				continue // named hierarchies are not podrun's to manage
			}
			if !strings.HasPrefix(path, podPrefix+"/") {
				t.Errorf("container %s: cgroup %q = %s, want below %s/", c, ctrl, path, podPrefix)
			}
			if other, ok := seen[ctrl+path]; ok {
				t.Errorf("containers %s and %s share cgroup %s", other, c, path)
			}
			seen[ctrl+path] = c
		}
	}
	// The memory limit, read where the kernel keeps it (v1 memory controller or v2 memory.max).
	pid := r.containerPid(t, "limited")
	cg := cgroupPaths(t, pid)
	var limitFile string
	for ctrl, path := range cg {
		for _, c := range strings.Split(ctrl, ",") {
			if c == "memory" {
				limitFile = filepath.Join("/sys/fs/cgroup/memory", path, "memory.limit_in_bytes")
			}
		}
	}
	if limitFile == "" || !fileExists(limitFile) {
		if path, ok := cg[""]; ok {
			for _, root := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
				if f := filepath.Join(root, path, "memory.max"); fileExists(f) {
					limitFile = f
				}
			}
		}
	}
	if limitFile == "" {
		t.Fatalf("no memory limit file for container limited (cgroups %v)", cg)
	}
	b, err := os.ReadFile(limitFile)
	if err != nil || strings.TrimSpace(string(b)) != "67108864" {
		t.Errorf("%s = %q (%v), want 67108864 (64Mi)", limitFile, b, err)
	}
	if qos := p.Status.QOSClass; qos != "Burstable" {
		t.Errorf("qosClass = %s, want Burstable", qos)
	}
}
