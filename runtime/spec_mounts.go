package runtime

import (
	"fmt"
	"path"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Container paths of the files the sandbox provides.
const (
	etcHosts      = "/etc/hosts"
	etcHostname   = "/etc/hostname"
	etcResolvConf = "/etc/resolv.conf"
	devShm        = "/dev/shm"
)

// defaultMounts are the kernel filesystems of every container, as in containerd's default
// spec, with one difference: sysfs is mounted without "ro". The kernel shares one sysfs
// superblock per network namespace, and the first mount's "ro" makes it read-only for every
// later mount in the pod, privileged containers included. So /sys is made read-only per mount
// instead, through ReadonlyPaths (WithMaskedPaths), and stays writable for privileged ones.
// The cgroup mount is runc's own tmpfs and binds: "ro" there is per mount.
func defaultMounts(privileged bool) []specs.Mount {
	cgroupMode := "ro"
	if privileged {
		cgroupMode = "rw"
	}
	return []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "rw"}},
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", cgroupMode}},
	}
}

// bindMount is a recursive bind with the given propagation ("" = rprivate).
func bindMount(src, dst string, readonly bool, propagation string) specs.Mount {
	if propagation == "" {
		propagation = "rprivate"
	}
	mode := "rw"
	if readonly {
		mode = "ro"
	}
	return specs.Mount{Destination: dst, Type: "bind", Source: src, Options: []string{"rbind", propagation, mode}}
}

// propagationOption maps cri.Mount.Propagation (and, for robustness, the Kubernetes
// mountPropagation names) to a mount option.
func propagationOption(p string) (string, error) {
	switch p {
	case "", "rprivate", "None":
		return "rprivate", nil
	case "rslave", "HostToContainer":
		return "rslave", nil
	case "rshared", "Bidirectional":
		return "rshared", nil
	}
	return "", fmt.Errorf("unknown mount propagation %q", p)
}

// mountDepth orders mounts so that a parent is mounted before its children.
func mountDepth(dst string) int {
	return strings.Count(path.Clean(dst), "/")
}

// WithMounts sets the container's mounts: the kernel filesystems, /dev/shm (the pod's shared
// tmpfs, or a private one with hostIPC), the sandbox's /etc/hosts, /etc/hostname and
// /etc/resolv.conf (read-only with readOnlyRootFilesystem, as containerd does), the termination
// message file, then the volumes. A volume at the path of a default or sandbox mount replaces
// it. Everything after the kernel filesystems is sorted parents first.
func WithMounts(s *specs.Spec, in *SpecInput) error {
	cfg := in.Config
	user := map[string]bool{}
	for _, m := range cfg.Mounts {
		if !path.IsAbs(m.ContainerPath) {
			return fmt.Errorf("volume mount path %q is not absolute", m.ContainerPath)
		}
		user[path.Clean(m.ContainerPath)] = true
	}
	mounts := slices.DeleteFunc(defaultMounts(isPrivileged(in)), func(m specs.Mount) bool { return user[m.Destination] })

	var extra []specs.Mount
	if !user[devShm] {
		if in.Sandbox.ShmPath != "" {
			extra = append(extra, bindMount(in.Sandbox.ShmPath, devShm, false, ""))
		} else {
			extra = append(extra, specs.Mount{Destination: devShm, Type: "tmpfs", Source: "shm",
				Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}})
		}
	}
	ro := containerSC(in).ReadOnlyRootFilesystem
	etcRO := ro != nil && *ro
	for _, f := range []struct{ src, dst string }{
		{in.Sandbox.HostsPath, etcHosts},
		{in.Sandbox.HostnamePath, etcHostname},
		{in.Sandbox.ResolvConfPath, etcResolvConf},
	} {
		if f.src != "" && !user[f.dst] {
			extra = append(extra, bindMount(f.src, f.dst, etcRO, ""))
		}
	}
	if tm := cfg.Container.TerminationMessagePath; cfg.TerminationMessageHostPath != "" && tm != "" && !user[path.Clean(tm)] {
		extra = append(extra, bindMount(cfg.TerminationMessageHostPath, path.Clean(tm), false, ""))
	}

	rootProp := ""
	for _, m := range cfg.Mounts {
		prop, err := propagationOption(m.Propagation)
		if err != nil {
			return fmt.Errorf("volume mount %s: %w", m.ContainerPath, err)
		}
		// A shared or slave mount needs a rootfs that propagates too, or the events stop at
		// the container's root (containerd does the same).
		switch {
		case prop == "rshared":
			rootProp = "rshared"
		case prop == "rslave" && rootProp == "":
			rootProp = "rslave"
		}
		extra = append(extra, bindMount(m.HostPath, path.Clean(m.ContainerPath), m.ReadOnly, prop))
	}
	slices.SortStableFunc(extra, func(a, b specs.Mount) int {
		return mountDepth(a.Destination) - mountDepth(b.Destination)
	})
	s.Mounts = append(mounts, extra...)
	s.Linux.RootfsPropagation = rootProp
	return nil
}
