// Package nsfs makes and pins namespaces, brings a pinned network namespace's loopback up and
// mounts a pod's shm: what the daemon and the monitor do to a pod's namespaces, without
// package sandbox's Kubernetes types.
package nsfs

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"

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

// PodNamespaces are the namespaces NewPodNamespaces makes for a pod, each pinned at its path
// ("" = not made: the pod uses the host's), and what is set inside them before anything
// joins them.
type PodNamespaces struct {
	Net, IPC, UTS string
	// Hostname is set in the new UTS namespace (required with UTS).
	Hostname string
	// Sysctls (dot form, as sandbox.NormalizeSysctlName gives them) are written from inside
	// the new namespaces: net.* ones land in Net, the IPC ones in IPC.
	Sysctls map[string]string
}

// NewPodNamespaces makes a pod's network, IPC and UTS namespaces and pins each at its path
// (made here), as CRI-O's pinns does before the pod's infra container: a locked thread of ours
// unshares them all at once, sets the hostname and the sysctls, bind-mounts each namespace on
// its path and goes back to its own namespaces. A thread that could not go back stays locked
// to its goroutine, which then ends: the Go runtime retires such a thread, or, the main
// thread, parks it for good. On error nothing is left pinned.
func NewPodNamespaces(ns PodNamespaces) (retErr error) {
	kinds := []struct {
		name, path string
		flag       int
	}{{"net", ns.Net, unix.CLONE_NEWNET}, {"ipc", ns.IPC, unix.CLONE_NEWIPC}, {"uts", ns.UTS, unix.CLONE_NEWUTS}}
	flags := 0
	var made []string
	defer func() {
		if retErr != nil {
			for _, p := range made {
				unmountRemove(p) //nolint:errcheck // best effort: it was ours
			}
			retErr = fmt.Errorf("new pod namespaces: %w", retErr)
		}
	}()
	for _, k := range kinds {
		if k.path == "" {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(k.path), 0o755); err != nil {
			return err
		}
		f, err := os.OpenFile(k.path, os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o444)
		if err != nil {
			return err
		}
		f.Close()
		made = append(made, k.path)
		flags |= k.flag
	}
	if flags == 0 {
		return nil
	}
	if ns.UTS != "" && ns.Hostname == "" {
		return errors.New("a new UTS namespace needs a hostname")
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		self := "/proc/" + strconv.Itoa(os.Getpid()) + "/task/" + strconv.Itoa(unix.Gettid()) + "/ns/"
		var orig []int // the thread's own namespaces, in kinds' order of those made
		defer func() {
			for _, fd := range orig {
				unix.Close(fd)
			}
		}()
		for _, k := range kinds {
			if k.path == "" {
				continue
			}
			fd, err := unix.Open(self+k.name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				runtime.UnlockOSThread()
				errc <- err
				return
			}
			orig = append(orig, fd)
		}
		if err := unix.Unshare(flags); err != nil {
			// Still in its namespaces: the thread may serve others again.
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("unshare: %w", err)
			return
		}
		err := setInside(ns)
		for _, k := range kinds {
			if k.path == "" || err != nil {
				continue
			}
			if err = unix.Mount(self+k.name, k.path, "", unix.MS_BIND, ""); err != nil {
				err = fmt.Errorf("bind %s%s on %s: %w", self, k.name, k.path, err)
			}
		}
		back := true
		i := 0
		for _, k := range kinds {
			if k.path == "" {
				continue
			}
			if unix.Setns(orig[i], k.flag) != nil {
				back = false
			}
			i++
		}
		if back {
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	return <-errc
}

// setInside sets the hostname and writes the sysctls from a thread inside the new namespaces
// (/proc/sys/net and the IPC sysctls are those of the writing thread's namespaces).
func setInside(ns PodNamespaces) error {
	if ns.UTS != "" {
		if err := unix.Sethostname([]byte(ns.Hostname)); err != nil {
			return fmt.Errorf("sethostname %q: %w", ns.Hostname, err)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(ns.Sysctls)) {
		if err := os.WriteFile(SysctlPath(name), []byte(ns.Sysctls[name]), 0); err != nil {
			return fmt.Errorf("sysctl %s=%q: %w", name, ns.Sysctls[name], err)
		}
	}
	return nil
}

// SysctlPath is the /proc/sys file of a dot-form sysctl name, where a '/' stands for a dot
// inside one component ("net.ipv4.conf.eth0/100.rp_filter" →
// /proc/sys/net/ipv4/conf/eth0.100/rp_filter).
func SysctlPath(name string) string { return "/proc/sys/" + SwapSysctlSeparators(name) }

// SwapSysctlSeparators turns dots into slashes and slashes into dots: the dot form of a
// sysctl name into its slash form (a path below /proc/sys), and back.
func SwapSysctlSeparators(name string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '.':
			return '/'
		case '/':
			return '.'
		}
		return r
	}, name)
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
