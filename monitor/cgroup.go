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

// cgroupLeaf is a leaf cgroup's dirs, one per hierarchy, or why they could not all be made.
type cgroupLeaf struct {
	dirs []string
	err  error
}

// InfraCgroup is the name of the leaf below the pod cgroup that holds the pod's monitor and
// pause.
func InfraCgroup(sandboxID string) string { return "monitor-" + sandboxID[:12] }

// makeCgroupLeaf makes the leaf cgroup <pod cgroup>/<leaf> in every mounted hierarchy, making
// the pod cgroup when it is not there yet, and returns its dirs (those it could make, with the
// error of the others). A leaf because cgroup v2 allows no process in a cgroup that has
// children with controllers.
func makeCgroupLeaf(podCgroup, leaf string) ([]string, error) {
	if strings.Trim(podCgroup, "/") == "" {
		return nil, errors.New("no pod cgroup in monitor.json")
	}
	mounts, err := mountinfo.GetMounts(mountinfo.FSTypeFilter("cgroup", "cgroup2"))
	if err != nil {
		return nil, err
	}
	var dirs []string
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
		dirs = append(dirs, dir)
	}
	return dirs, errors.Join(errs...)
}

// moveToPodCgroup moves the monitor (this process) into its leaf cgroup of its pod, dirs (made
// by makeCgroupLeaf, with the error it gave). There the monitor is accounted to its pod, and
// it leaves the daemon's cgroup: a service manager stopping the daemon by its cgroup
// (systemd's KillMode=control-group) does not take the pods with it.
//
// The monitor runs it while the pause starts, on purpose: on cgroup v1 the first move into a
// cgroup after a quiet spell waits for an RCU grace period (the kernel's
// cgroup_threadgroup_rwsem; 6 to 25 ms here), and moves that overlap share one wait.
func moveToPodCgroup(dirs []string, made error) error {
	errs := []error{made}
	for _, dir := range dirs {
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
