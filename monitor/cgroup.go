package monitor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/moby/sys/mountinfo"
)

// moveToPodCgroup moves the monitor (this process) into a leaf cgroup of its pod, <pod
// cgroup>/monitor-<sandbox id prefix>, in every mounted hierarchy, making the pod cgroup when
// it is not there yet. There the monitor is accounted to its pod, and it leaves the daemon's
// cgroup: a service manager stopping the daemon by its cgroup (systemd's KillMode=control-group)
// does not take the pods with it. A leaf because cgroup v2 allows no process in a cgroup that
// has children with controllers.
//
// The monitor runs it while libcontainer starts the pause, on purpose: on cgroup v1 the first
// move into a cgroup after a quiet spell waits for an RCU grace period (the kernel's
// cgroup_threadgroup_rwsem; 6 to 25 ms here), and moves that overlap share one wait.
func moveToPodCgroup(podCgroup, leaf string) error {
	if strings.Trim(podCgroup, "/") == "" {
		return errors.New("no pod cgroup in monitor.json")
	}
	mounts, err := mountinfo.GetMounts(mountinfo.FSTypeFilter("cgroup", "cgroup2"))
	if err != nil {
		return err
	}
	var errs []error
	for _, m := range mounts {
		if m.Root != "/" {
			continue
		}
		dir, err := makeCgroupDir(m.Mountpoint, filepath.Join(podCgroup, leaf), strings.Contains(m.VFSOptions, "cpuset"))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := writeCgroupFile(dir, "cgroup.procs", strconv.Itoa(os.Getpid())); err != nil {
			errs = append(errs, fmt.Errorf("join %s: %w", dir, err))
		}
	}
	return errors.Join(errs...)
}

// makeCgroupDir makes rel and its missing parents below the hierarchy mounted at mountpoint
// and returns its path. A new v1 cpuset cgroup has no cpus and mems: each takes its parent's,
// as libcontainer does for the cgroups it makes.
func makeCgroupDir(mountpoint, rel string, cpuset bool) (string, error) {
	dir := mountpoint
	for _, elem := range strings.Split(strings.Trim(rel, "/"), "/") {
		parent := dir
		dir = filepath.Join(dir, elem)
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return "", err
		}
		if !cpuset {
			continue
		}
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			if v, err := readCgroupFile(dir, f); err == nil && strings.TrimSpace(v) != "" {
				continue
			}
			v, err := readCgroupFile(parent, f)
			if err == nil {
				err = writeCgroupFile(dir, f, strings.TrimSpace(v))
			}
			if err != nil {
				return "", fmt.Errorf("%s of %s: %w", f, dir, err)
			}
		}
	}
	return dir, nil
}

// readCgroupFile and writeCgroupFile read and write one cgroup interface file.
func readCgroupFile(dir, name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	return string(b), err
}

func writeCgroupFile(dir, name, value string) error {
	return os.WriteFile(filepath.Join(dir, name), []byte(value), 0)
}
