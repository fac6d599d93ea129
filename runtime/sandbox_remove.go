package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/moby/sys/mountinfo"
	"github.com/opencontainers/cgroups"
	"golang.org/x/sys/unix"

	"github.com/podrun/podrun/internal/layout"
	"github.com/podrun/podrun/monitor"
	"github.com/podrun/podrun/sandbox/nsfs"
)

// RemovePodSandbox removes everything the sandbox made: its containers, the monitor, the pause,
// pinned namespaces, shm, the pod cgroup (when no other sandbox of the pod is left) and the
// state. Removing a removed sandbox is not an error.
func (r *Runtime) RemovePodSandbox(ctx context.Context, id string) error {
	if !layout.ValidID(id) {
		return nil
	}
	unlock := r.lock(id)
	defer unlock()
	// The id is dead once removed: drop its lock so the map does not grow forever (a late
	// caller gets a fresh lock and finds nothing, which every verb handles).
	defer r.locks.Delete(id)
	if err := r.removeSandbox(ctx, id); err != nil {
		return fmt.Errorf("remove sandbox %s: %w", id, err)
	}
	return nil
}

// removeSandbox does the work of RemovePodSandbox; it also undoes a half-made sandbox.
func (r *Runtime) removeSandbox(ctx context.Context, id string) error {
	st, err := r.readSandbox(id)
	if err != nil {
		st = nil // gone or unreadable: still clean what could be left
	}
	ctrs, _ := r.containerIDs(id)
	var errs []error
	for _, cid := range ctrs {
		// The container's lock: a CreateContainer still in flight (a delete racing the pod's
		// start) finishes first, so what it made is seen and destroyed, not left behind.
		unlock := r.lock(cid)
		err := r.removeContainer(ctx, cid)
		unlock()
		r.locks.Delete(cid)
		if err != nil {
			errs = append(errs, err)
		}
	}
	// The network goes first, while the namespace is still pinned.
	if err := r.teardownNetwork(ctx, id); err != nil {
		errs = append(errs, err)
	}
	// The monitor destroys the pause, unpins and unmounts, then exits.
	if err := r.monitor(id).call(ctx, "shutdown", struct{}{}, nil); err != nil && !errors.Is(err, errMonitorGone) {
		r.log.Warn("monitor shutdown", "sandbox", id, "err", err)
	}
	r.waitMonitorGone(id, 5*time.Second)

	// Whatever the monitor could not do (it may have crashed), do here; all idempotent. The
	// pause is found in the pod's infra cgroup, its pid recorded or not yet (a monitor that
	// died while the pause was being made).
	if st != nil && st.CgroupParent != "" {
		if err := killCgroupProcs(filepath.Join(st.CgroupParent, monitor.InfraCgroup(id)), 5*time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	for _, p := range []string{r.p.Netns(id), filepath.Join(r.p.NsDir(id), "ipc"), filepath.Join(r.p.NsDir(id), "uts"), filepath.Join(r.p.NsDir(id), "pid")} {
		if err := nsfs.Unpin(p); err != nil {
			errs = append(errs, err)
		}
	}
	if err := os.Remove(r.p.NsDir(id)); err != nil && !os.IsNotExist(err) {
		errs = append(errs, err)
	}
	dir := r.p.Sandbox(id)
	if err := nsfs.UnmountShm(filepath.Join(dir, "shm")); err != nil {
		errs = append(errs, err)
	}
	if st != nil && st.CgroupParent != "" && !r.cgroupInUse(st.CgroupParent, id) {
		if err := removeCgroup(st.CgroupParent); err != nil {
			errs = append(errs, err)
		}
	}
	if err := removeDirNoMounts(dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// waitMonitorGone waits for the sandbox's monitor process to exit, and kills it when it does
// not (after checking that the pid is still our monitor, not a recycled one).
func (r *Runtime) waitMonitorGone(id string, timeout time.Duration) {
	b, err := os.ReadFile(r.p.SandboxFile(id, "monitor.pid"))
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return
	}
	isOurs := func() bool {
		cmd, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
		if err != nil {
			return false
		}
		// A zombie has an empty cmdline: it is gone for our purposes.
		return strings.Contains(string(cmd), "monitor") && strings.Contains(string(cmd), id)
	}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if !isOurs() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	if isOurs() {
		r.log.Warn("monitor did not exit, killing it", "sandbox", id, "pid", pid)
		unix.Kill(pid, unix.SIGKILL) //nolint:errcheck
	}
}

// cgroupInUse reports whether another sandbox than id uses the pod cgroup parent.
func (r *Runtime) cgroupInUse(parent, id string) bool {
	ents, _ := os.ReadDir(r.p.SandboxesDir())
	for _, e := range ents {
		if e.Name() == id || !layout.ValidID(e.Name()) {
			continue
		}
		if st, err := r.readSandbox(e.Name()); err == nil && st.CgroupParent == parent {
			return true
		}
	}
	return false
}

// removeCgroup removes a cgroup (and the empty cgroups below it) from every mounted hierarchy:
// each v1 controller, the unified hierarchy of hybrid mode, or the single v2 tree.
func removeCgroup(rel string) error {
	if rel == "" || rel == "/" {
		return nil
	}
	mounts, err := mountinfo.GetMounts(mountinfo.FSTypeFilter("cgroup", "cgroup2"))
	if err != nil {
		return fmt.Errorf("remove cgroup %s: %w", rel, err)
	}
	var errs []error
	for _, m := range mounts {
		// Only hierarchies mounted at their root: the host's own mounts under /sys/fs/cgroup.
		if m.Root != "/" {
			continue
		}
		p := filepath.Join(m.Mountpoint, rel)
		if _, err := os.Stat(p); err != nil {
			continue
		}
		if err := cgroups.RemovePath(p); err != nil {
			errs = append(errs, fmt.Errorf("remove cgroup %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

// killCgroupProcs SIGKILLs every process left in the cgroup rel (below the hierarchies' roots)
// and waits up to timeout for it to be empty, so that it can be removed.
func killCgroupProcs(rel string, timeout time.Duration) error {
	dirs := cgroupDirs(rel)
	if len(dirs) == 0 {
		return nil
	}
	procs := filepath.Join(dirs[0], "cgroup.procs") // every process is in every hierarchy
	deadline := time.Now().Add(timeout)
	for {
		b, err := os.ReadFile(procs)
		if err != nil {
			return nil // removed meanwhile
		}
		pids := strings.Fields(string(b))
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cgroup %s: processes %v still there after SIGKILL", rel, pids)
		}
		for _, f := range pids {
			if pid, err := strconv.Atoi(f); err == nil && pid > 1 {
				unix.Kill(pid, unix.SIGKILL) //nolint:errcheck // a member of the pod's infra cgroup, or gone
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// cgroupDirs lists the dirs of a cgroup in every mounted hierarchy that exist now (tests use
// it to prove nothing is left).
func cgroupDirs(rel string) []string {
	mounts, _ := mountinfo.GetMounts(mountinfo.FSTypeFilter("cgroup", "cgroup2"))
	var out []string
	for _, m := range mounts {
		if m.Root != "/" {
			continue
		}
		p := filepath.Join(m.Mountpoint, rel)
		if _, err := os.Stat(p); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// removeDirNoMounts removes dir unless something is still mounted below it: RemoveAll would
// otherwise delete into a rootfs or a tmpfs.
func removeDirNoMounts(dir string) error {
	mounts, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	if err != nil {
		return err
	}
	if len(mounts) > 0 {
		return fmt.Errorf("remove %s: still mounted: %s", dir, mounts[0].Mountpoint)
	}
	return os.RemoveAll(dir)
}
