package images

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// MountRootfs makes target an overlay mount of the image's unpacked layers (read-only lower
// dirs, shared by every container of the image) with upper and work dirs created under
// snapshotDir. It is the container's rootfs. imageID is an ID ("sha256:…") or any reference
// ImageStatus accepts.
func (s *Store) MountRootfs(ctx context.Context, imageID, snapshotDir, target string) error {
	s.mu.Lock()
	r, err := s.resolveLocked(imageID)
	var lowers []string
	if err == nil {
		// overlayfs wants the topmost lower dir first; Layers are lowest first.
		for i := len(r.Layers) - 1; i >= 0; i-- {
			lowers = append(lowers, s.layerPath(r.Layers[i]))
		}
	}
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("mount rootfs of %s: %w", imageID, err)
	}
	for _, l := range lowers {
		if _, err := os.Stat(l); err != nil {
			return fmt.Errorf("mount rootfs of %s: layer missing from the store: %w", imageID, err)
		}
	}
	if len(lowers) == 0 {
		// overlayfs needs at least one lower dir; an image without layers gets an empty one.
		empty := filepath.Join(snapshotDir, "empty")
		if err := os.MkdirAll(empty, 0o755); err != nil {
			return fmt.Errorf("mount rootfs of %s: %w", imageID, err)
		}
		lowers = []string{empty}
	}
	upper, work := filepath.Join(snapshotDir, "upper"), filepath.Join(snapshotDir, "work")
	opts, err := overlayOptions(lowers, upper, work, unix.Getpagesize(), overlayKnowsIndex())
	if err != nil {
		return fmt.Errorf("mount rootfs of %s: %w", imageID, err)
	}
	// A retry after a crash finds the rootfs already mounted: the same snapshot is success
	// (stacking a second overlay would hide the first), anything else is an error.
	// The mount table is read only when the target is a mount point (not the usual case).
	mounted, err := isMountPoint(target)
	if err != nil {
		return fmt.Errorf("mount rootfs of %s: %w", imageID, err)
	}
	if mounted {
		m, ok, err := findMount(target)
		if err != nil {
			return fmt.Errorf("mount rootfs of %s: %w", imageID, err)
		}
		if ok && m.fstype == "overlay" && hasOption(m.superOpts, "upperdir="+upper) {
			return nil
		}
		if ok {
			return fmt.Errorf("mount rootfs of %s: %s is already a mount point (%s %s)", imageID, target, m.fstype, m.source)
		}
	}
	for _, d := range []string{upper, work, target} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("mount rootfs of %s: %w", imageID, err)
		}
	}
	if err := unix.Mount("overlay", target, "overlay", 0, opts); err != nil {
		return fmt.Errorf("mount rootfs of %s: overlay on %s: %w", imageID, target, err)
	}
	return nil
}

// overlayOptions builds the mount data string. The kernel takes at most one page of mount
// data, so an image with very many layers (or a very long store path) cannot be mounted this
// way; we fail clearly rather than let the kernel truncate it. (Short symlinked layer paths,
// as docker's overlay2 "l/" dir does, would raise the limit; not needed yet.)
func overlayOptions(lowers []string, upper, work string, pageSize int, indexOff bool) (string, error) {
	for _, p := range append(append([]string{}, lowers...), upper, work) {
		// ':' separates lower dirs and ',' separates options: such paths cannot be expressed.
		if strings.ContainsAny(p, ":,") {
			return "", fmt.Errorf("overlay path %q contains ':' or ','", p)
		}
	}
	opts := "lowerdir=" + strings.Join(lowers, ":") + ",upperdir=" + upper + ",workdir=" + work
	if indexOff {
		// The inodes index (on where the kernel defaults it on) ties an upper dir to the exact
		// lower dirs it was first mounted over; our lower dirs are shared between containers,
		// so turn it off, as containerd's overlay snapshotter does.
		opts += ",index=off"
	}
	if len(opts) >= pageSize {
		return "", fmt.Errorf("overlay mount options are %d bytes for %d layers, more than the kernel's limit of one page (%d bytes)", len(opts), len(lowers), pageSize)
	}
	return opts, nil
}

// UnmountRootfs unmounts target (if mounted) and removes snapshotDir; idempotent.
func (s *Store) UnmountRootfs(target, snapshotDir string) error {
	if err := unmountAll(target); err != nil {
		return fmt.Errorf("unmount rootfs %s: %w", target, err)
	}
	if err := os.Remove(target); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("unmount rootfs: remove %s: %w", target, err)
	}
	if err := removeAll(snapshotDir); err != nil {
		return fmt.Errorf("unmount rootfs: remove %s: %w", snapshotDir, err)
	}
	return nil
}

// unmountAll unmounts target until nothing is mounted there (a rootfs may have been
// mounted twice after a crash). A busy mount is detached lazily so teardown never blocks.
func unmountAll(target string) error {
	for i := 0; i < 16; i++ {
		err := unix.Unmount(target, 0)
		switch {
		case err == nil:
			continue
		case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOENT):
			// EINVAL: not a mount point (any more). ENOENT: target is gone.
			return nil
		case errors.Is(err, unix.EBUSY):
			if err := unix.Unmount(target, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
				return err
			}
		default:
			return err
		}
	}
	return fmt.Errorf("still mounted after 16 unmounts")
}

// overlayKnowsIndex reports whether the overlay module has the "index" feature (and so accepts
// the index=off option).
func overlayKnowsIndex() bool {
	_, err := os.Stat("/sys/module/overlay/parameters/index")
	return err == nil
}

func hasOption(opts, want string) bool {
	for _, o := range strings.Split(opts, ",") {
		if o == want {
			return true
		}
	}
	return false
}

// mountEntry is the part of a /proc/self/mountinfo line we need.
type mountEntry struct {
	mountPoint, fstype, source, superOpts string
}

// isMountPoint says whether path is the root of a mount, from statx (STATX_ATTR_MOUNT_ROOT,
// Linux 5.8), without reading the whole mount table as findMount does (hundreds of lines on
// a host with many pods); a missing path is not one. Where statx cannot tell, it falls back
// to findMount.
func isMountPoint(path string) (bool, error) {
	var stx unix.Statx_t
	err := unix.Statx(unix.AT_FDCWD, path, unix.AT_SYMLINK_NOFOLLOW, 0, &stx)
	if errors.Is(err, unix.ENOENT) {
		return false, nil
	}
	if err == nil && stx.Attributes_mask&unix.STATX_ATTR_MOUNT_ROOT != 0 {
		return stx.Attributes&unix.STATX_ATTR_MOUNT_ROOT != 0, nil
	}
	_, ok, ferr := findMount(path)
	return ok, ferr
}

// findMount returns the last (topmost) mount at path in this mount namespace.
func findMount(path string) (mountEntry, bool, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return mountEntry{}, false, err
	}
	var found mountEntry
	ok := false
	for _, line := range strings.Split(string(b), "\n") {
		if m, valid := parseMountinfoLine(line); valid && m.mountPoint == path {
			found, ok = m, true
		}
	}
	return found, ok, nil
}

// parseMountinfoLine parses one line of /proc/PID/mountinfo (proc(5)):
// "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue".
func parseMountinfoLine(line string) (mountEntry, bool) {
	f := strings.Fields(line)
	sep := -1
	for i := 6; i < len(f); i++ {
		if f[i] == "-" {
			sep = i
			break
		}
	}
	if len(f) < 5 || sep < 0 || len(f) < sep+3 {
		return mountEntry{}, false
	}
	m := mountEntry{mountPoint: unescapeOctal(f[4]), fstype: f[sep+1], source: unescapeOctal(f[sep+2])}
	if len(f) > sep+3 {
		m.superOpts = unescapeOctal(f[sep+3])
	}
	return m, true
}

// unescapeOctal undoes the kernel's \ooo escaping of space, tab, newline and backslash.
func unescapeOctal(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }
