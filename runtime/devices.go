package runtime

import (
	"io/fs"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// addHostDevices gives a privileged container (PrivilegedAnnotation) every device node of the
// host, as containerd does; the spec options cannot do it because they must not read /dev.
func addHostDevices(spec *specs.Spec) error {
	if spec.Linux == nil {
		spec.Linux = &specs.Linux{}
	}
	have := map[string]bool{}
	for _, d := range spec.Linux.Devices {
		have[d.Path] = true
	}
	err := filepath.WalkDir("/dev", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable parts of /dev are skipped, not fatal
		}
		if d.IsDir() {
			switch path {
			case "/dev/pts", "/dev/shm", "/dev/mqueue", "/dev/fd":
				return filepath.SkipDir
			}
			return nil
		}
		if have[path] || path == "/dev/console" || path == "/dev/ptmx" {
			return nil
		}
		var st unix.Stat_t
		if unix.Lstat(path, &st) != nil {
			return nil
		}
		var typ string
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFCHR:
			typ = "c"
		case unix.S_IFBLK:
			typ = "b"
		default:
			return nil
		}
		mode := fs.FileMode(st.Mode & 0o777)
		uid, gid := st.Uid, st.Gid
		spec.Linux.Devices = append(spec.Linux.Devices, specs.LinuxDevice{
			Path: path, Type: typ, Major: int64(unix.Major(st.Rdev)), Minor: int64(unix.Minor(st.Rdev)),
			FileMode: &mode, UID: &uid, GID: &gid,
		})
		return nil
	})
	if err != nil {
		return err
	}
	if spec.Linux.Resources == nil {
		spec.Linux.Resources = &specs.LinuxResources{}
	}
	spec.Linux.Resources.Devices = append(spec.Linux.Resources.Devices, specs.LinuxDeviceCgroup{Allow: true, Access: "rwm"})
	return nil
}
