package monitor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/moby/sys/mountinfo"

	"github.com/podrun/podrun/sandbox/pauseproc"
)

// InfraCgroup is the name of the leaf below the pod cgroup that holds the pod's monitor and
// pause.
func InfraCgroup(sandboxID string) string { return "monitor-" + sandboxID[:12] }

// infraCgroups is where the pause setup puts the pause and then the monitor (this process):
// <pod cgroup>/InfraCgroup(id) in every mounted hierarchy, made by the setup where missing.
// There the monitor is accounted to its pod, and it leaves the daemon's cgroup: a service
// manager stopping the daemon by its cgroup (systemd's KillMode=control-group) does not take
// the pods with it. A leaf because cgroup v2 allows no process in a cgroup that has children
// with controllers.
//
// The pause setup (a process of its own, package pauseproc) makes the cgroups and moves both:
// in the monitor, a goroutine in a cgroup mkdir or move (a fraction of a millisecond each on
// cgroup v1, and the first move after a quiet spell waits for an RCU grace period of 6 to 25
// ms, the kernel's cgroup_threadgroup_rwsem) kept the monitor's one P from answering the
// daemon: traced, the container's create request reached the monitor 1.9 – 2.6 ms after the
// daemon sent it.
func infraCgroups(podCgroup, id string) (*pauseproc.Cgroups, error) {
	if strings.Trim(podCgroup, "/") == "" {
		return nil, errors.New("no pod cgroup in monitor.json")
	}
	mounts, err := mountinfo.GetMounts(mountinfo.FSTypeFilter("cgroup", "cgroup2"))
	if err != nil {
		return nil, err
	}
	cg := &pauseproc.Cgroups{Path: filepath.Join(podCgroup, InfraCgroup(id)), Join: os.Getpid()}
	for _, m := range mounts {
		if m.Root != "/" {
			continue
		}
		cg.Mounts = append(cg.Mounts, pauseproc.CgroupMount{Dir: m.Mountpoint, Cpuset: strings.Contains(m.VFSOptions, "cpuset")})
	}
	return cg, nil
}

// joinCgroups moves pid into the cgroups cg names, in every hierarchy.
func joinCgroups(cg *pauseproc.Cgroups, pid int) error {
	var errs []error
	for _, m := range cg.Mounts {
		dir := filepath.Join(m.Dir, cg.Path)
		if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0); err != nil {
			errs = append(errs, fmt.Errorf("join %s: %w", dir, err))
		}
	}
	return errors.Join(errs...)
}
