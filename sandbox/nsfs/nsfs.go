// Package nsfs pins namespaces to files, brings a pinned network namespace's loopback up and
// mounts a pod's shm: what the monitor does to a pod's namespaces, without package sandbox's
// Kubernetes types.
package nsfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// PinNamespace keeps the namespace kind ("net", "ipc", "uts", "pid") of process pid alive
// after the process is gone by bind-mounting /proc/<pid>/ns/<kind> onto the file target (made
// here), as `ip netns add` does. `nsenter --net=<target>` then enters it.
func PinNamespace(pid int, kind, target string) error {
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return fmt.Errorf("pin %s namespace: %w", kind, err)
	}
	f, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o444)
	if err != nil {
		return fmt.Errorf("pin %s namespace: %w", kind, err)
	}
	f.Close()
	src := "/proc/" + strconv.Itoa(pid) + "/ns/" + kind
	if err := unix.Mount(src, target, "", unix.MS_BIND, ""); err != nil {
		os.Remove(target)
		return fmt.Errorf("pin %s namespace: bind %s on %s: %w", kind, src, target, err)
	}
	return nil
}

// NewNetns makes a new network namespace pinned at target (made here), as `ip netns add`
// does: a locked thread of ours unshares its network namespace, the namespace is bind-mounted
// on target, and the thread goes back to its namespace. A thread that could not go back stays
// locked to its goroutine, which then ends: the Go runtime retires such a thread, or, the
// main thread, parks it for good.
func NewNetns(target string) error {
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return fmt.Errorf("new network namespace: %w", err)
	}
	f, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o444)
	if err != nil {
		return fmt.Errorf("new network namespace: %w", err)
	}
	f.Close()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		self := "/proc/" + strconv.Itoa(os.Getpid()) + "/task/" + strconv.Itoa(unix.Gettid()) + "/ns/net"
		orig, err := unix.Open(self, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("open %s: %w", self, err)
			return
		}
		defer unix.Close(orig)
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			// Still in its namespace: the thread may serve others again.
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("unshare: %w", err)
			return
		}
		err = unix.Mount(self, target, "", unix.MS_BIND, "")
		if err != nil {
			err = fmt.Errorf("bind %s on %s: %w", self, target, err)
		}
		if serr := unix.Setns(orig, unix.CLONE_NEWNET); serr == nil {
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	if err := <-errc; err != nil {
		os.Remove(target)
		return fmt.Errorf("new network namespace: %w", err)
	}
	return nil
}

// Unpin unmounts and removes a pinned namespace file; a missing file is not an error.
func Unpin(target string) error {
	if err := unmountRemove(target); err != nil {
		return fmt.Errorf("unpin %s: %w", target, err)
	}
	return nil
}

// unmountRemove detaches what is mounted on path, if anything, and removes path, if there.
func unmountRemove(path string) error {
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// LoopbackUp sets lo up inside the network namespace pinned at nsPath. It uses a netlink
// handle bound to that namespace, so no thread of the caller changes namespace.
func LoopbackUp(nsPath string) error {
	ns, err := netns.GetFromPath(nsPath)
	if err != nil {
		return fmt.Errorf("loopback up: open %s: %w", nsPath, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("loopback up: netlink in %s: %w", nsPath, err)
	}
	defer h.Close()
	lo, err := h.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("loopback up: %w", err)
	}
	if err := h.LinkSetUp(lo); err != nil {
		return fmt.Errorf("loopback up: %w", err)
	}
	return nil
}

// ShmSize is the size of a pod's /dev/shm, as docker and containerd default it.
const ShmSize = 64 << 20

// MountShm mounts the pod's /dev/shm tmpfs at dir (made here).
func MountShm(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("mount shm: %w", err)
	}
	opts := "mode=1777,size=" + strconv.Itoa(ShmSize)
	if err := unix.Mount("shm", dir, "tmpfs", unix.MS_NOEXEC|unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
		return fmt.Errorf("mount shm on %s: %w", dir, err)
	}
	return nil
}

// UnmountShm unmounts and removes the pod's shm dir; a missing one is not an error.
func UnmountShm(dir string) error {
	if err := unmountRemove(dir); err != nil {
		return fmt.Errorf("unmount shm %s: %w", dir, err)
	}
	return nil
}
