package pod

import (
	"fmt"
	"os"
	"strings"
	"syscall"

	v1 "k8s.io/api/core/v1"
)

// applyFSGroup gives a volume directory to the pod's fsGroup as the kubelet's
// SetVolumeOwnership does: group fsGroup, group read/write, and setgid so that files created
// inside inherit the group. fsGroupChangePolicy OnRootMismatch skips the change when the root
// already has the group and setgid (a fresh emptyDir never has: both policies act the same on
// it; podrun does not walk the tree since its volumes are new or its own).
func applyFSGroup(dir string, sc *v1.PodSecurityContext) error {
	if sc == nil || sc.FSGroup == nil {
		return nil
	}
	gid := int(*sc.FSGroup)
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("fsGroup: %w", err)
	}
	if p := sc.FSGroupChangePolicy; p != nil && *p == v1.FSGroupChangeOnRootMismatch {
		if sys, ok := statGid(st); ok && sys == gid && st.Mode()&os.ModeSetgid != 0 {
			return nil
		}
	}
	if err := os.Lchown(dir, -1, gid); err != nil {
		return fmt.Errorf("fsGroup %d: %w", gid, err)
	}
	// Chown clears setgid: set the mode after it. os.Chmod takes Go's mode bits.
	if err := os.Chmod(dir, st.Mode().Perm()|0o060|os.ModeSetgid); err != nil {
		return fmt.Errorf("fsGroup %d: %w", gid, err)
	}
	return nil
}

// Linux security modules the host may lack: their profiles cannot be applied here.
var (
	appArmorEnabledPath = "/sys/module/apparmor/parameters/enabled"
	seLinuxEnforcePath  = "/sys/fs/selinux/enforce"
)

func appArmorEnabled() bool {
	b, err := os.ReadFile(appArmorEnabledPath)
	return err == nil && strings.HasPrefix(string(b), "Y")
}

func seLinuxEnabled() bool {
	_, err := os.Stat(seLinuxEnforcePath)
	return err == nil
}

// Event reasons for a security profile the host cannot apply.
const (
	evAppArmorNotEnabled = "AppArmorNotEnabled"
	evSELinuxNotEnabled  = "SELinuxNotEnabled"
	evAppArmorNoDefault  = "AppArmorProfileNotApplied"
)

// macWarnings are the Warning events for a container that asks for an AppArmor profile or
// SELinux options on a host without that module, or for AppArmor RuntimeDefault (podrun has no
// default profile to load; the runtime applies Localhost ones). The kubelet refuses an AppArmor pod on such
// a host; podrun runs it (it cannot confine it either way) and says so, once per container
// start, so that `describe pod` shows why the profile is not in effect.
func macWarnings(pod *v1.Pod, c *v1.Container, apparmor, selinux bool) (reasons, msgs []string) {
	psc, csc := pod.Spec.SecurityContext, c.SecurityContext
	var aa *v1.AppArmorProfile
	var se *v1.SELinuxOptions
	if psc != nil {
		aa, se = psc.AppArmorProfile, psc.SELinuxOptions
	}
	if csc != nil {
		if csc.AppArmorProfile != nil {
			aa = csc.AppArmorProfile
		}
		if csc.SELinuxOptions != nil {
			se = csc.SELinuxOptions
		}
	}
	switch {
	case aa == nil || aa.Type == v1.AppArmorProfileTypeUnconfined:
	case !apparmor:
		reasons = append(reasons, evAppArmorNotEnabled)
		msgs = append(msgs, fmt.Sprintf("Cannot enforce AppArmor profile %s on container %s: AppArmor is not enabled on the host; the container runs without it", appArmorName(aa), c.Name))
	case aa.Type == v1.AppArmorProfileTypeRuntimeDefault:
		// The runtime applies Localhost profiles only: podrun loads no default profile.
		reasons = append(reasons, evAppArmorNoDefault)
		msgs = append(msgs, fmt.Sprintf("AppArmor profile RuntimeDefault on container %s: podrun has no default AppArmor profile; name a loaded one with type Localhost. The container runs without AppArmor", c.Name))
	}
	if se != nil && *se != (v1.SELinuxOptions{}) && !selinux {
		reasons = append(reasons, evSELinuxNotEnabled)
		msgs = append(msgs, fmt.Sprintf("Cannot apply SELinux options (user %q, role %q, type %q, level %q) to container %s: SELinux is not enabled on the host; the container runs without them", se.User, se.Role, se.Type, se.Level, c.Name))
	}
	return reasons, msgs
}

func appArmorName(p *v1.AppArmorProfile) string {
	if p.Type == v1.AppArmorProfileTypeLocalhost && p.LocalhostProfile != nil {
		return "localhost/" + *p.LocalhostProfile
	}
	return string(p.Type)
}

// statGid is the group of a file from its os.Stat result.
func statGid(fi os.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Gid), true
}
