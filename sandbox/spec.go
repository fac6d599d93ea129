package sandbox

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	v1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/sandbox/nsfs"
)

// PauseDevDir is the directory the pause's rootfs must hold (empty), bound onto itself as its
// /dev.
const PauseDevDir = "dev"

// PauseUID is the uid and gid of the pause process (the "nobody" of Kubernetes' pause image).
const PauseUID = 65535

// PauseOOMScoreAdj is the pause's oom_score_adj, the kubelet's value for the sandbox: the last
// process of the pod the OOM killer should pick.
const PauseOOMScoreAdj = -998

// hostnameMaxLen is the kernel's limit (64 bytes with the terminating NUL).
const hostnameMaxLen = 63

// SpecInput is what PauseSpec reads; PauseSpec does no I/O.
type SpecInput struct {
	Pod         *v1.Pod
	Rootfs      string // the pause's read-only root: a directory holding only an empty PauseDevDir
	PauseBinary string // host path of the static podrun binary, bind-mounted read-only at /pause
	CgroupsPath string
	Hostname    string // "" = PodHostname(Pod)
	// Pinned are the pod's namespaces ("net", "ipc", "uts") the caller already made and pinned
	// (nsfs.NewPodNamespaces), by kind: the pause joins them instead of making them, and what
	// the caller set inside them is left out of the spec (the hostname with "uts", the sysctls
	// of a pinned namespace). Ignored for a namespace the pod takes from the host.
	Pinned map[string]string
	// OOMScoreAdjMin is the daemon's own oom_score_adj: the pause gets
	// max(PauseOOMScoreAdj, OOMScoreAdjMin), as the daemon cannot go lower without
	// CAP_SYS_RESOURCE. The zero value therefore gives the pause 0: pass the real value.
	OOMScoreAdjMin int
}

// PodHostname is the pod's hostname as the kubelet computes it: spec.hostname, else the pod
// name, cut to 63 characters with trailing '-' and '.' trimmed from a cut name.
func PodHostname(pod *v1.Pod) (string, error) {
	if pod == nil {
		return "", errors.New("pod hostname: no pod")
	}
	h := pod.Name
	if pod.Spec.Hostname != "" {
		h = pod.Spec.Hostname
	}
	if len(h) <= hostnameMaxLen {
		if h == "" {
			return "", errors.New("pod hostname: pod has no name")
		}
		return h, nil
	}
	cut := strings.TrimRight(h[:hostnameMaxLen], "-.")
	if cut == "" {
		return "", fmt.Errorf("hostname for pod %q was invalid: %q", pod.Name, h)
	}
	return cut, nil
}

// PauseSpec is the OCI spec of a pod's pause container: it holds the pod's net, ipc and uts
// namespaces (each the host's with hostNetwork/hostIPC; uts follows hostNetwork) and, with
// shareProcessNamespace, the pod's pid namespace where it is PID 1 and reaps zombies. It runs
// /pause (the podrun binary) as 65535 with no capabilities, no_new_privs and a read-only root.
// The pod's sysctls go here (or are set by whoever pinned their namespace), never in an app
// container's spec: they apply to the namespaces the pause holds.
func PauseSpec(in *SpecInput) (*specs.Spec, error) {
	switch {
	case in == nil || in.Pod == nil:
		return nil, errors.New("pause spec: no pod")
	case !filepath.IsAbs(in.Rootfs):
		return nil, fmt.Errorf("pause spec: rootfs %q is not an absolute path", in.Rootfs)
	case !filepath.IsAbs(in.PauseBinary):
		return nil, fmt.Errorf("pause spec: pause binary %q is not an absolute path", in.PauseBinary)
	}
	pod := in.Pod
	sysctls, err := PodSysctls(pod)
	if err != nil {
		return nil, fmt.Errorf("pause spec of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	maps.DeleteFunc(sysctls, func(name, _ string) bool { return in.Pinned[SysctlNamespace(name)] != "" })
	if len(sysctls) == 0 {
		sysctls = nil
	}
	hostname := ""
	if !pod.Spec.HostNetwork && in.Pinned["uts"] == "" {
		if hostname = in.Hostname; hostname == "" {
			if hostname, err = PodHostname(pod); err != nil {
				return nil, err
			}
		}
	}
	oom := max(PauseOOMScoreAdj, in.OOMScoreAdjMin)
	return &specs.Spec{
		Version:  specs.Version,
		Root:     &specs.Root{Path: in.Rootfs, Readonly: true},
		Hostname: hostname,
		Process: &specs.Process{
			Args: slices.Clone(PauseArgs),
			Cwd:  "/",
			User: specs.User{UID: PauseUID, GID: PauseUID},
			// Non-nil and empty: a nil set would leave the process every capability.
			Capabilities:    &specs.LinuxCapabilities{Bounding: []string{}, Effective: []string{}, Inheritable: []string{}, Permitted: []string{}, Ambient: []string{}},
			NoNewPrivileges: true,
			OOMScoreAdj:     &oom,
		},
		Mounts: pauseMounts(in.Rootfs, in.PauseBinary),
		Linux: &specs.Linux{
			Namespaces:  pauseNamespaces(pod, in.Pinned),
			Sysctl:      sysctls,
			CgroupsPath: in.CgroupsPath,
			Resources: &specs.LinuxResources{
				Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
			},
		},
	}, nil
}

// pauseNamespaces: a spec entry without a path is a new namespace, one with a path is joined
// (one the caller pinned); an absent kind is the host's.
func pauseNamespaces(pod *v1.Pod, pinned map[string]string) []specs.LinuxNamespace {
	var ns []specs.LinuxNamespace
	if !pod.Spec.HostNetwork {
		ns = append(ns, specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: pinned["net"]},
			specs.LinuxNamespace{Type: specs.UTSNamespace, Path: pinned["uts"]})
	}
	if !pod.Spec.HostIPC {
		ns = append(ns, specs.LinuxNamespace{Type: specs.IPCNamespace, Path: pinned["ipc"]})
	}
	if share := pod.Spec.ShareProcessNamespace; share != nil && *share && !pod.Spec.HostPID {
		ns = append(ns, specs.LinuxNamespace{Type: specs.PIDNamespace})
	}
	return append(ns, specs.LinuxNamespace{Type: specs.MountNamespace})
}

// pauseMounts are all the pause has: its binary, and an empty read-only /dev. The pause opens
// nothing and reads nothing, so it gets no /proc, /sys, /dev/pts or device nodes (and no masked
// or read-only paths, which would only cover those): each would cost its runc init a mount and
// a few dozen path-checking syscalls on every pod start. No /sys also matters for the pod's
// other containers: the kernel shares one sysfs superblock per network namespace, and a
// read-only sysfs mounted first by the pause would make /sys read-only for every container of
// the pod, privileged ones included. /dev is the rootfs's own empty dev directory bound onto
// itself: with a bind mount on /dev libcontainer makes no device nodes, /dev/ptmx or /dev/fd
// links there.
func pauseMounts(rootfs, pauseBinary string) []specs.Mount {
	return []specs.Mount{
		{Destination: "/dev", Type: "bind", Source: filepath.Join(rootfs, PauseDevDir), Options: []string{"bind", "ro", "nosuid", "nodev", "noexec"}},
		{Destination: PauseArgs[0], Type: "bind", Source: pauseBinary, Options: []string{"bind", "ro", "nosuid", "nodev"}},
	}
}

// PodSysctls maps the pod's securityContext.sysctls (slash or dot form) to dot form. Only
// sysctls of a namespace the pause owns can be set: a node-wide sysctl, a net.* one with
// hostNetwork or an IPC one with hostIPC would change the host, and is an error (the pod
// manager's admission should have rejected the pod already).
func PodSysctls(pod *v1.Pod) (map[string]string, error) {
	sc := pod.Spec.SecurityContext
	if sc == nil || len(sc.Sysctls) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(sc.Sysctls))
	for _, s := range sc.Sysctls {
		name := NormalizeSysctlName(s.Name)
		switch SysctlNamespace(name) {
		case "":
			return nil, fmt.Errorf("sysctl %q is not namespaced: it cannot be set for one pod", s.Name)
		case "net":
			if pod.Spec.HostNetwork {
				return nil, fmt.Errorf("sysctl %q not allowed with host net enabled", s.Name)
			}
		case "ipc":
			if pod.Spec.HostIPC {
				return nil, fmt.Errorf("sysctl %q not allowed with host ipc enabled", s.Name)
			}
		}
		out[name] = s.Value
	}
	return out, nil
}

// NormalizeSysctlName turns the slash form of a sysctl name into the dot form runc expects, as
// the kubelet does: when the first separator is a slash, dots and slashes swap
// ("net/ipv4/conf/eth0.100/rp_filter" → "net.ipv4.conf.eth0/100.rp_filter").
func NormalizeSysctlName(name string) string {
	if i := strings.IndexAny(name, "./"); i < 0 || name[i] == '.' {
		return name
	}
	return nsfs.SwapSysctlSeparators(name)
}

// SysctlNamespace is the namespace a dot-form sysctl belongs to, as the kubelet classifies
// them: "ipc", "net", or "" when it is not namespaced (it would change the whole node).
func SysctlNamespace(name string) string {
	switch {
	case name == "kernel.sem", strings.HasPrefix(name, "kernel.shm"),
		strings.HasPrefix(name, "kernel.msg"), strings.HasPrefix(name, "fs.mqueue."):
		return "ipc"
	case strings.HasPrefix(name, "net."):
		return "net"
	}
	return ""
}

// SafeSysctls are the sysctls the kubelet always allows: namespaced, and unable to hurt other
// pods or the node.
var SafeSysctls = []string{
	"kernel.shm_rmid_forced",
	"net.ipv4.ip_local_port_range",
	"net.ipv4.tcp_syncookies",
	"net.ipv4.ping_group_range",
	"net.ipv4.ip_unprivileged_port_start",
	"net.ipv4.ip_local_reserved_ports",
	"net.ipv4.tcp_keepalive_time",
	"net.ipv4.tcp_fin_timeout",
	"net.ipv4.tcp_keepalive_intvl",
	"net.ipv4.tcp_keepalive_probes",
	"net.ipv4.tcp_rmem",
	"net.ipv4.tcp_wmem",
}

// SysctlAllowed reports whether a sysctl (either form) is safe or matches one of the allowed
// unsafe patterns (the kubelet's --allowed-unsafe-sysctls): "net.core.*" is a prefix, anything
// else an exact name.
func SysctlAllowed(name string, allowedUnsafe []string) bool {
	name = NormalizeSysctlName(name)
	if slices.Contains(SafeSysctls, name) {
		return true
	}
	return slices.ContainsFunc(allowedUnsafe, func(p string) bool {
		p = NormalizeSysctlName(p)
		if prefix, ok := strings.CutSuffix(p, "*"); ok {
			return strings.HasPrefix(name, prefix)
		}
		return p == name
	})
}
