package runtime

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/moby/sys/mountinfo"
)

// Every move of a process into a cgroup (a write to cgroup.procs, v1 or v2) takes the kernel's
// cgroup_threadgroup_rwsem for writing, and the first writer after a quiet spell waits for an
// RCU grace period: 6 to 25 ms on this 2-core VM, against 0.1 ms for the writers that follow
// within one more grace period (perf sched tracepoints, strace -T). libcontainer moves each
// new init into its cgroup before it lets it run, so a pod start waited twice (the pause, and
// the container one sandbox start later), each time at the very moment it had to go on.
//
// warmCgroupMoves starts that wait early, in the background: the daemon moves itself into the
// cgroup it is already in (the kernel takes the lock and the process stays where it is), at
// the start of RunPodSandbox and CreateContainer and when the pause's namespaces are pinned
// (the first container's move is next), while the daemon still prepares the bundle, mounts
// the rootfs and the helper starts. libcontainer's own move then finds the grace
// period passed or in progress. The daemon's cgroup is read from /proc/self/cgroup each time,
// so a daemon moved by its service manager is never moved back.
func warmCgroupMoves() {
	go func() {
		if procs := ownCgroupProcs(); procs != "" {
			os.WriteFile(procs, []byte(strconv.Itoa(os.Getpid())), 0) //nolint:errcheck // only a head start
		}
	}()
}

// ownCgroupProcs is the cgroup.procs file of this process's cgroup in the first hierarchy of
// /proc/self/cgroup that is mounted (any will do: the lock is one for all hierarchies, v1 and
// v2); "" when there is none.
func ownCgroupProcs() string {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return ""
	}
	mounts := cgroupMounts()
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		// "hierarchy-ID:controllers:path"; v2 is "0::path".
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			continue
		}
		for _, m := range mounts {
			if m.Root != "/" {
				continue
			}
			v2 := f[0] == "0" && f[1] == "" && m.FSType == "cgroup2"
			v1 := f[1] != "" && m.FSType == "cgroup" && hasOption(m.VFSOptions, strings.Split(f[1], ",")[0])
			if v2 || v1 {
				return filepath.Join(m.Mountpoint, f[2], "cgroup.procs")
			}
		}
	}
	return ""
}

// cgroupMounts are the host's cgroup hierarchies, read once: mountinfo grows with every pod
// (rootfs, shm, pinned namespaces), and the hierarchies do not move.
var cgroupMounts = sync.OnceValue(func() []*mountinfo.Info {
	mounts, _ := mountinfo.GetMounts(mountinfo.FSTypeFilter("cgroup", "cgroup2"))
	return mounts
})

// hasOption says whether the comma-separated mount options include opt ("name=systemd" for
// named v1 hierarchies).
func hasOption(options, opt string) bool {
	for _, o := range strings.Split(options, ",") {
		if o == opt {
			return true
		}
	}
	return false
}
