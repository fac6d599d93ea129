package runtime

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	v1 "k8s.io/api/core/v1"
)

// DefaultCapabilities is the set containerd's CRI gives a non-privileged container (docker's
// default set).
var DefaultCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
	"CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// AllCapabilities are the capabilities Linux knows, in number order, up to
// CAP_CHECKPOINT_RESTORE (40, Linux 5.9). A static list keeps spec building pure; runc skips
// (with a warning) those the running kernel lacks.
var AllCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
	"CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
	"CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN",
	"CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON",
	"CAP_BPF", "CAP_CHECKPOINT_RESTORE",
}

// DefaultMaskedPaths and DefaultReadonlyPaths are containerd's defaults for non-privileged
// containers: kernel interfaces that leak host data or can change the host. (The pause has no
// /proc or /sys to mask.)
var (
	DefaultMaskedPaths = []string{
		"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
		"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
		"/sys/devices/virtual/powercap", "/proc/scsi",
	}
	DefaultReadonlyPaths = []string{
		"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
	}
)

// WithUser sets the process's uid, gid and supplementary groups, and enforces runAsNonRoot.
//
// uid: runAsUser (the container's over the pod's), else the image USER resolved in the image's
// /etc/passwd; gid: runAsGroup, else the image USER's group, else the user's passwd gid, else 0
// (with runAsUser the image USER is ignored entirely, as containerd does).
// Supplementary groups (sorted, deduplicated, including the primary gid, as containerd gives
// them): the user's /etc/group memberships (supplementalGroupsPolicy Merge, the default; not
// with Strict), fsGroup and supplementalGroups.
func WithUser(s *specs.Spec, in *SpecInput) error {
	psc, csc := podSC(in), containerSC(in)
	runAsUser, runAsGroup, runAsNonRoot := psc.RunAsUser, psc.RunAsGroup, psc.RunAsNonRoot
	if csc.RunAsUser != nil {
		runAsUser = csc.RunAsUser
	}
	if csc.RunAsGroup != nil {
		runAsGroup = csc.RunAsGroup
	}
	if csc.RunAsNonRoot != nil {
		runAsNonRoot = csc.RunAsNonRoot
	}
	imageUser := imageConfig(in).User
	db, err := readImageUserDB(in.Rootfs)
	if err != nil {
		return err
	}
	if runAsNonRoot != nil && *runAsNonRoot {
		if err := verifyRunAsNonRoot(in, db, runAsUser, imageUser); err != nil {
			return err
		}
	}
	for _, id := range []*int64{runAsUser, runAsGroup} {
		if id != nil && (*id < 0 || *id > 1<<32-2) {
			return fmt.Errorf("user or group id %d out of range", *id)
		}
	}

	var u processUser
	if runAsUser != nil {
		u.UID = uint32(*runAsUser)
		if e, ok := db.userByUID(u.UID); ok {
			u.GID, u.Name = e.GID, e.Name
		}
	} else if u, err = db.resolveImageUser(imageUser); err != nil {
		return err
	}
	if runAsGroup != nil {
		u.GID = uint32(*runAsGroup)
	}

	gids := []uint32{u.GID}
	if p := psc.SupplementalGroupsPolicy; p == nil || *p != v1.SupplementalGroupsPolicyStrict {
		gids = append(gids, db.groupsOf(u.Name)...)
	}
	if psc.FSGroup != nil {
		gids = append(gids, uint32(*psc.FSGroup))
	}
	for _, g := range psc.SupplementalGroups {
		gids = append(gids, uint32(g))
	}
	slices.Sort(gids)
	s.Process.User = specs.User{UID: u.UID, GID: u.GID, AdditionalGids: slices.Compact(gids)}
	return nil
}

// verifyRunAsNonRoot is the kubelet's check, with its messages: the uid must be known to be
// non-zero before the container is made. A named image user is resolved in the image's
// /etc/passwd (the kubelet decides from the image config alone and refuses every name; podrun
// has the rootfs at hand, so `USER app` with app = 1000 runs); a name the passwd lacks gets the
// kubelet's "non-numeric user" message.
func verifyRunAsNonRoot(in *SpecInput, db *imageUserDB, runAsUser *int64, imageUser string) error {
	pod, name := formatPod(in.Config.Pod), in.Config.Container.Name
	if runAsUser != nil {
		if *runAsUser == 0 {
			return configError("container's runAsUser breaks non-root policy (pod: %q, container: %s)", pod, name)
		}
		return nil
	}
	if imageUser == "" {
		return configError("container has runAsNonRoot and image will run as root (pod: %q, container: %s)", pod, name)
	}
	userPart, _, _ := strings.Cut(imageUser, ":")
	uid, err := strconv.ParseInt(userPart, 10, 64)
	if err != nil {
		if e, ok := db.userByName(userPart); ok {
			if e.UID == 0 {
				return configError("container has runAsNonRoot and image will run as root (pod: %q, container: %s)", pod, name)
			}
			return nil
		}
		return configError("container has runAsNonRoot and image has non-numeric user (%s), cannot verify user is non-root (pod: %q, container: %s)", userPart, pod, name)
	}
	if uid == 0 {
		return configError("container has runAsNonRoot and image will run as root (pod: %q, container: %s)", pod, name)
	}
	return nil
}

// CapabilitiesFromMask names the capabilities set in a mask such as CapPrm of
// /proc/self/status (parsed as hex), for SpecInput.HostCapabilities: bits past
// CAP_CHECKPOINT_RESTORE are ignored.
func CapabilitiesFromMask(mask uint64) []string {
	var out []string
	for i, name := range AllCapabilities {
		if mask&(1<<uint(i)) != 0 {
			out = append(out, name)
		}
	}
	return out
}

// normalizeCapability turns "net_admin", "NET_ADMIN" or "CAP_NET_ADMIN" into "CAP_NET_ADMIN".
func normalizeCapability(c string) (string, error) {
	name := strings.ToUpper(strings.TrimSpace(c))
	if !strings.HasPrefix(name, "CAP_") {
		name = "CAP_" + name
	}
	if !slices.Contains(AllCapabilities, name) {
		return "", fmt.Errorf("unknown capability %q", c)
	}
	return name, nil
}

// isAll reports whether a capability name is Kubernetes' "ALL".
func isAll(c string) bool { return strings.EqualFold(strings.TrimSpace(c), "ALL") }

// ComputeCapabilities applies securityContext.capabilities to the default set the way
// containerd does: "ALL" in add starts from every capability, "ALL" in drop from none, then the
// named adds, then the named drops (so drop wins over add of the same name).
func ComputeCapabilities(caps *v1.Capabilities) ([]string, error) {
	set := slices.Clone(DefaultCapabilities)
	if caps == nil {
		return set, nil
	}
	if slices.ContainsFunc(caps.Add, func(c v1.Capability) bool { return isAll(string(c)) }) {
		set = slices.Clone(AllCapabilities)
	}
	if slices.ContainsFunc(caps.Drop, func(c v1.Capability) bool { return isAll(string(c)) }) {
		set = nil
	}
	for _, c := range caps.Add {
		if isAll(string(c)) {
			continue
		}
		name, err := normalizeCapability(string(c))
		if err != nil {
			return nil, fmt.Errorf("capabilities.add: %w", err)
		}
		if !slices.Contains(set, name) {
			set = append(set, name)
		}
	}
	for _, c := range caps.Drop {
		if isAll(string(c)) {
			continue
		}
		name, err := normalizeCapability(string(c))
		if err != nil {
			return nil, fmt.Errorf("capabilities.drop: %w", err)
		}
		set = slices.DeleteFunc(set, func(x string) bool { return x == name })
	}
	return set, nil
}

// WithCapabilities sets the bounding, effective and permitted sets, as containerd does for
// every user. Inheritable and ambient stay empty (containerd's WithoutAmbientCaps and its fix
// for CVE-2022-24769); so a non-root process keeps only the bounding set: the kernel empties
// its effective and permitted sets at execve unless the binary has file capabilities.
// Privileged containers get every capability and ignore add/drop.
func WithCapabilities(s *specs.Spec, in *SpecInput) error {
	var set []string
	if isPrivileged(in) {
		set = slices.Clone(AllCapabilities)
	} else {
		var err error
		if set, err = ComputeCapabilities(containerSC(in).Capabilities); err != nil {
			return err
		}
	}
	if in.HostCapabilities != nil {
		set = slices.DeleteFunc(set, func(c string) bool { return !slices.Contains(in.HostCapabilities, c) })
	}
	s.Process.Capabilities = &specs.LinuxCapabilities{
		Bounding:  set,
		Effective: slices.Clone(set),
		Permitted: slices.Clone(set),
	}
	return nil
}

// WithPrivileged marks a privileged container and opens the device cgroup; the lifecycle code
// adds the host's devices when it sees PrivilegedAnnotation. Other parts of privileged mode
// live with their concern: capabilities, rw /sys (mounts), no masked paths, no seccomp.
func WithPrivileged(s *specs.Spec, in *SpecInput) error {
	if !isPrivileged(in) {
		return nil
	}
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	s.Annotations[PrivilegedAnnotation] = "true"
	s.Linux.Resources.Devices = []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}
	return nil
}

// WithNoNewPrivileges sets no_new_privs when allowPrivilegeEscalation is false. Unset means
// false (the kubelet's AddNoNewPrivileges); privileged or CAP_SYS_ADMIN always escalate, as
// API validation forbids combining them with allowPrivilegeEscalation: false.
func WithNoNewPrivileges(s *specs.Spec, in *SpecInput) error {
	ape := containerSC(in).AllowPrivilegeEscalation
	nnp := ape != nil && !*ape
	if isPrivileged(in) || (s.Process.Capabilities != nil && slices.Contains(s.Process.Capabilities.Bounding, "CAP_SYS_ADMIN")) {
		nnp = false
	}
	s.Process.NoNewPrivileges = nnp
	return nil
}

// WithReadonlyRootfs honours readOnlyRootFilesystem.
func WithReadonlyRootfs(s *specs.Spec, in *SpecInput) error {
	ro := containerSC(in).ReadOnlyRootFilesystem
	s.Root.Readonly = ro != nil && *ro
	return nil
}

// WithMaskedPaths sets containerd's masked and read-only paths, plus /sys read-only (see
// defaultMounts: sysfs is mounted rw and made read-only per mount here). Privileged containers
// get none; procMount Unmasked drops containerd's lists (the kubelet then sends empty ones) but
// keeps /sys read-only.
func WithMaskedPaths(s *specs.Spec, in *SpecInput) error {
	s.Linux.MaskedPaths, s.Linux.ReadonlyPaths = nil, nil
	if isPrivileged(in) {
		return nil
	}
	if pm := containerSC(in).ProcMount; pm != nil && *pm == v1.UnmaskedProcMount {
		s.Linux.ReadonlyPaths = []string{sysfsPath}
		return nil
	}
	s.Linux.MaskedPaths = slices.Clone(DefaultMaskedPaths)
	s.Linux.ReadonlyPaths = append(slices.Clone(DefaultReadonlyPaths), sysfsPath)
	return nil
}

// sysfsPath is where containers see sysfs.
const sysfsPath = "/sys"

// effectiveSeccompProfile is the container's seccompProfile, else the pod's, else
// RuntimeDefault with --seccomp-default, else nil (unconfined).
func effectiveSeccompProfile(in *SpecInput) *v1.SeccompProfile {
	if p := containerSC(in).SeccompProfile; p != nil {
		return p
	}
	if p := podSC(in).SeccompProfile; p != nil {
		return p
	}
	if in.SeccompDefault {
		return &v1.SeccompProfile{Type: v1.SeccompProfileTypeRuntimeDefault}
	}
	return nil
}

// WithSeccomp sets the seccomp filter. RuntimeDefault is moby's default profile (its
// capability-dependent rules read the bounding set, so this runs after WithCapabilities);
// Localhost profiles are JSON files below SeccompProfileRoot; privileged is unconfined.
func WithSeccomp(s *specs.Spec, in *SpecInput) error {
	s.Linux.Seccomp = nil
	prof := effectiveSeccompProfile(in)
	if isPrivileged(in) || prof == nil {
		return nil
	}
	switch prof.Type {
	case v1.SeccompProfileTypeUnconfined:
		return nil
	case v1.SeccompProfileTypeRuntimeDefault:
		sc, err := seccomp.GetDefaultProfile(s)
		if err != nil {
			return fmt.Errorf("seccomp RuntimeDefault: %w", err)
		}
		s.Linux.Seccomp = sc
		return nil
	case v1.SeccompProfileTypeLocalhost:
		sc, err := loadLocalhostSeccomp(s, in.SeccompProfileRoot, prof.LocalhostProfile)
		if err != nil {
			return err
		}
		s.Linux.Seccomp = sc
		return nil
	default:
		return fmt.Errorf("unknown seccomp profile type %q", prof.Type)
	}
}

func loadLocalhostSeccomp(s *specs.Spec, root string, name *string) (*specs.LinuxSeccomp, error) {
	if name == nil || *name == "" {
		return nil, errors.New("seccomp profile type Localhost needs localhostProfile")
	}
	if root == "" {
		return nil, fmt.Errorf("seccomp Localhost profile %q: no seccomp profile root configured", *name)
	}
	p, err := securejoin.SecureJoin(root, *name)
	if err != nil {
		return nil, fmt.Errorf("seccomp Localhost profile %q: %w", *name, err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("seccomp Localhost profile %q: %w", *name, err)
	}
	sc, err := seccomp.LoadProfile(string(b), s)
	if err != nil {
		return nil, fmt.Errorf("seccomp Localhost profile %q: %w", *name, err)
	}
	return sc, nil
}

// WithMACProfiles applies appArmorProfile and seLinuxOptions (the container's over the pod's)
// when the host has that module; without it they cannot apply (the pod manager records a
// Warning event) and are left out, since runc would fail the container on them.
//
// AppArmor: Localhost names a profile the admin loaded (runc fails the start when it is not
// loaded, as the kubelet would report); RuntimeDefault and Unconfined set nothing: podrun
// loads no default profile of its own (the pod manager warns of it). SELinux: the process label
// user:role:type:level, missing parts from the container defaults, and the mount label of the
// same level.
func WithMACProfiles(s *specs.Spec, in *SpecInput) error {
	s.Process.ApparmorProfile, s.Process.SelinuxLabel, s.Linux.MountLabel = "", "", ""
	psc, csc := podSC(in), containerSC(in)
	if in.AppArmorEnabled {
		aa := psc.AppArmorProfile
		if csc.AppArmorProfile != nil {
			aa = csc.AppArmorProfile
		}
		if aa != nil && aa.Type == v1.AppArmorProfileTypeLocalhost && aa.LocalhostProfile != nil {
			s.Process.ApparmorProfile = *aa.LocalhostProfile
		}
	}
	if in.SELinuxEnabled && !isPrivileged(in) {
		var o v1.SELinuxOptions
		for _, src := range []*v1.SELinuxOptions{psc.SELinuxOptions, csc.SELinuxOptions} {
			if src == nil {
				continue
			}
			o.User, o.Role, o.Type, o.Level = orString(src.User, o.User), orString(src.Role, o.Role), orString(src.Type, o.Type), orString(src.Level, o.Level)
		}
		if o != (v1.SELinuxOptions{}) {
			level := orString(o.Level, "s0")
			s.Process.SelinuxLabel = strings.Join([]string{orString(o.User, "system_u"), orString(o.Role, "system_r"), orString(o.Type, "container_t"), level}, ":")
			s.Linux.MountLabel = "system_u:object_r:container_file_t:" + level
		}
	}
	return nil
}

func orString(v, def string) string {
	if v != "" {
		return v
	}
	return def
}
