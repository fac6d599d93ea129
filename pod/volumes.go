package pod

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/moby/sys/mountinfo"
	"github.com/podrun/podrun/cri"
	"github.com/podrun/podrun/internal/atomicfile"
	"golang.org/x/sys/unix"
	v1 "k8s.io/api/core/v1"
)

// setupVolumes makes every volume of the pod and returns its host path by volume name.
// emptyDir is a directory under the pod dir (a tmpfs mount with medium: Memory); hostPath is
// checked against its type. Volume types that need objects podrun does not store
// (configMap, secret, projected, downwardAPI, PVCs…) are an error: not supported yet.
func (m *Manager) setupVolumes(p *v1.Pod) (map[string]string, error) {
	paths := map[string]string{}
	for _, v := range p.Spec.Volumes {
		switch {
		case v.EmptyDir != nil:
			dir := filepath.Join(m.emptyDirRoot(p.UID), v.Name)
			if err := os.MkdirAll(dir, 0o777); err != nil {
				return nil, &volumeError{v.Name, err}
			}
			// 0777 so that a non-root container can write, as the kubelet does.
			if err := os.Chmod(dir, 0o777); err != nil {
				return nil, &volumeError{v.Name, err}
			}
			if v.EmptyDir.Medium == v1.StorageMediumMemory {
				if err := mountTmpfs(dir, v.EmptyDir); err != nil {
					return nil, &volumeError{v.Name, err}
				}
			}
			if err := applyFSGroup(dir, p.Spec.SecurityContext); err != nil {
				return nil, &volumeError{v.Name, err}
			}
			paths[v.Name] = dir
		case v.DownwardAPI != nil:
			dir, err := m.writeDownwardAPI(p, v.Name, v.DownwardAPI)
			if err != nil {
				return nil, &volumeError{v.Name, err}
			}
			paths[v.Name] = dir
		case v.HostPath != nil:
			if err := checkHostPath(v.HostPath); err != nil {
				return nil, &volumeError{v.Name, err}
			}
			paths[v.Name] = v.HostPath.Path
		default:
			return nil, &volumeError{v.Name, fmt.Errorf("volume type %s is not supported yet", volumeKind(&v.VolumeSource))}
		}
	}
	return paths, nil
}

type volumeError struct {
	volume string
	err    error
}

func (e *volumeError) Error() string { return fmt.Sprintf(msgFailedMount, e.volume, e.err) }
func (e *volumeError) Unwrap() error { return e.err }

func volumeKind(vs *v1.VolumeSource) string {
	switch {
	case vs.ConfigMap != nil:
		return "configMap"
	case vs.Secret != nil:
		return "secret"
	case vs.Projected != nil:
		return "projected"
	case vs.DownwardAPI != nil:
		return "downwardAPI"
	case vs.PersistentVolumeClaim != nil:
		return "persistentVolumeClaim"
	case vs.Ephemeral != nil:
		return "ephemeral"
	case vs.Image != nil:
		return "image"
	case vs.CSI != nil:
		return "csi"
	case vs.NFS != nil:
		return "nfs"
	}
	return "(other)"
}

// mountTmpfs mounts a tmpfs on dir unless one is there already (re-adoption).
func mountTmpfs(dir string, ed *v1.EmptyDirVolumeSource) error {
	if mounted, err := isMountPoint(dir); err != nil {
		return err
	} else if mounted {
		return nil
	}
	opts := "mode=0777"
	if ed.SizeLimit != nil && ed.SizeLimit.Value() > 0 {
		opts += ",size=" + strconv.FormatInt(ed.SizeLimit.Value(), 10)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
		return fmt.Errorf("mount tmpfs on %s: %w", dir, err)
	}
	return nil
}

// isMountPoint compares the device of dir with its parent's.
func isMountPoint(dir string) (bool, error) {
	var st, pst unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return false, err
	}
	if err := unix.Lstat(filepath.Dir(dir), &pst); err != nil {
		return false, err
	}
	return st.Dev != pst.Dev, nil
}

// checkHostPath applies the hostPath type checks (and creations) the kubelet does.
func checkHostPath(hp *v1.HostPathVolumeSource) error {
	t := v1.HostPathUnset
	if hp.Type != nil {
		t = *hp.Type
	}
	fi, err := os.Stat(hp.Path)
	exists := err == nil
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("hostPath type check failed: %w", err)
	}
	switch t {
	case v1.HostPathUnset:
		return nil
	case v1.HostPathDirectoryOrCreate:
		if !exists {
			if err := os.MkdirAll(hp.Path, 0o755); err != nil {
				return fmt.Errorf("hostPath type check failed: %w", err)
			}
			return nil
		}
		if !fi.IsDir() {
			return fmt.Errorf("hostPath type check failed: %s is not a directory", hp.Path)
		}
	case v1.HostPathDirectory:
		if !exists || !fi.IsDir() {
			return fmt.Errorf("hostPath type check failed: %s is not a directory", hp.Path)
		}
	case v1.HostPathFileOrCreate:
		if !exists {
			f, err := os.OpenFile(hp.Path, os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				return fmt.Errorf("hostPath type check failed: %w", err)
			}
			return f.Close()
		}
		if fi.IsDir() {
			return fmt.Errorf("hostPath type check failed: %s is not a file", hp.Path)
		}
	case v1.HostPathFile:
		if !exists || !fi.Mode().IsRegular() {
			return fmt.Errorf("hostPath type check failed: %s is not a file", hp.Path)
		}
	case v1.HostPathSocket:
		if !exists || fi.Mode()&os.ModeSocket == 0 {
			return fmt.Errorf("hostPath type check failed: %s is not a socket file", hp.Path)
		}
	case v1.HostPathCharDev:
		if !exists || fi.Mode()&os.ModeCharDevice == 0 {
			return fmt.Errorf("hostPath type check failed: %s is not a character device", hp.Path)
		}
	case v1.HostPathBlockDev:
		if !exists || fi.Mode()&os.ModeDevice == 0 || fi.Mode()&os.ModeCharDevice != 0 {
			return fmt.Errorf("hostPath type check failed: %s is not a block device", hp.Path)
		}
	default:
		return fmt.Errorf("hostPath type check failed: unknown type %q", t)
	}
	return nil
}

// containerMounts resolves a container's volumeMounts to host paths. subPath (and
// subPathExpr, expanded with the container's env) is joined inside the volume without
// leaving it, and created when missing, as the kubelet does.
func containerMounts(c *v1.Container, vols map[string]string, env map[string]string) ([]cri.Mount, error) {
	out := make([]cri.Mount, 0, len(c.VolumeMounts))
	for _, vm := range c.VolumeMounts {
		host, ok := vols[vm.Name]
		if !ok {
			return nil, &configError{fmt.Sprintf("cannot find volume %q to mount into container %q", vm.Name, c.Name)}
		}
		sub := vm.SubPath
		if vm.SubPathExpr != "" {
			sub = expandVars(vm.SubPathExpr, env)
			if filepath.IsAbs(sub) || strings.Contains("/"+sub+"/", "/../") {
				return nil, &configError{fmt.Sprintf("failed to prepare subPath for volumeMount %q of container %q", vm.Name, c.Name)}
			}
		}
		if sub != "" {
			p, err := securejoin.SecureJoin(host, sub)
			if err != nil {
				return nil, &configError{fmt.Sprintf("failed to prepare subPath for volumeMount %q of container %q: %v", vm.Name, c.Name, err)}
			}
			if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
				if err := os.MkdirAll(p, 0o750); err != nil {
					return nil, &configError{fmt.Sprintf("failed to create subPath directory for volumeMount %q of container %q", vm.Name, c.Name)}
				}
			}
			host = p
		}
		mnt := cri.Mount{HostPath: host, ContainerPath: vm.MountPath, ReadOnly: vm.ReadOnly}
		if vm.MountPropagation != nil {
			switch *vm.MountPropagation {
			case v1.MountPropagationHostToContainer:
				mnt.Propagation = "rslave"
			case v1.MountPropagationBidirectional:
				mnt.Propagation = "rshared"
			case v1.MountPropagationNone:
				mnt.Propagation = "rprivate"
			}
		}
		out = append(out, mnt)
	}
	return out, nil
}

// unmountUnder detaches every mount at or below dir (deepest first), so that removing dir
// cannot descend into a tmpfs or a bind mount that someone else made there.
func unmountUnder(dir string) {
	for _, mp := range mountsUnder(dir) {
		_ = unix.Unmount(mp, unix.MNT_DETACH)
	}
}

// mountsUnder lists the mount points at or below dir, deepest first.
func mountsUnder(dir string) []string {
	mounts, err := mountinfo.GetMounts(mountinfo.PrefixFilter(filepath.Clean(dir)))
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(mounts))
	for _, m := range mounts {
		out = append(out, m.Mountpoint)
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// writeDownwardAPI writes the files of a downwardAPI volume under the pod dir.
func (m *Manager) writeDownwardAPI(p *v1.Pod, name string, src *v1.DownwardAPIVolumeSource) (string, error) {
	dir := filepath.Join(m.podDir(p.UID), "volumes", "downward-api", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	for _, it := range src.Items {
		var val string
		var err error
		switch {
		case it.FieldRef != nil:
			val, err = podFieldValue(p, it.FieldRef.FieldPath)
		case it.ResourceFieldRef != nil:
			val, err = resourceFieldValue(p, nil, it.ResourceFieldRef, nodeCap())
		default:
			err = fmt.Errorf("item %q has no source", it.Path)
		}
		if err != nil {
			return "", err
		}
		target, err := securejoin.SecureJoin(dir, it.Path)
		if err != nil {
			return "", err
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return "", err
		}
		mode := os.FileMode(defaultVolumeMode)
		if src.DefaultMode != nil {
			mode = os.FileMode(*src.DefaultMode)
		}
		if it.Mode != nil {
			mode = os.FileMode(*it.Mode)
		}
		if err := atomicfile.WriteFileDurable(target, []byte(val), mode&os.ModePerm); err != nil {
			return "", err
		}
	}
	return dir, nil
}
