package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/sys/mountinfo"
	"github.com/opencontainers/cgroups"
)

// moveToPodCgroup moves the monitor (this process) into a leaf cgroup of its pod, <pod
// cgroup>/monitor-<sandbox id prefix>, in every hierarchy where the pod cgroup exists. There it
// is accounted to its pod, and it leaves the daemon's cgroup: a service manager stopping the
// daemon by its cgroup (systemd's KillMode=control-group) does not take the pods with it. A
// leaf because cgroup v2 allows no process in a cgroup that has children with controllers.
func moveToPodCgroup(podCgroup, leaf string) error {
	mounts, err := mountinfo.GetMounts(mountinfo.FSTypeFilter("cgroup", "cgroup2"))
	if err != nil {
		return err
	}
	var errs []error
	for _, m := range mounts {
		if m.Root != "/" {
			continue
		}
		parent := filepath.Join(m.Mountpoint, podCgroup)
		if _, err := os.Stat(parent); err != nil {
			continue // libcontainer made no pod cgroup in this hierarchy
		}
		dir := filepath.Join(parent, leaf)
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			errs = append(errs, err)
			continue
		}
		// A new v1 cpuset cgroup has no cpus and mems: it takes its parent's.
		if strings.Contains(m.VFSOptions, "cpuset") {
			for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
				v, err := cgroups.ReadFile(parent, f)
				if err == nil {
					err = cgroups.WriteFile(dir, f, strings.TrimSpace(v))
				}
				if err != nil {
					errs = append(errs, err)
				}
			}
		}
		if err := cgroups.WriteCgroupProc(dir, os.Getpid()); err != nil {
			errs = append(errs, fmt.Errorf("join %s: %w", dir, err))
		}
	}
	return errors.Join(errs...)
}
