package runtime

import (
	"context"
	"log/slog"
)

// Rootfs is the part of the image store the runtime needs: overlay root filesystems.
type Rootfs interface {
	MountRootfs(ctx context.Context, imageID, snapshotDir, target string) error
	UnmountRootfs(target, snapshotDir string) error
}

// Config configures the runtime.
type Config struct {
	// StateDir is the daemon's --state (default /run/podrun): libcontainer state, sandbox and
	// container bundles, pinned namespaces, monitor sockets.
	StateDir string
	// RootDir is the daemon's --root (default /var/lib/podrun): overlay upper/work dirs.
	RootDir string
	// CgroupRoot is the cgroup under which every pod cgroup is made (default "podrun").
	CgroupRoot string
	Rootfs     Rootfs
	// SeccompDefault applies the RuntimeDefault seccomp profile to containers that name none
	// (the kubelet's --seccomp-default).
	SeccompDefault bool
	Logger         *slog.Logger
}

// MonitorMain is the entry point of `podrun monitor`; it returns the exit code.
func MonitorMain(args []string) int { return 1 }
