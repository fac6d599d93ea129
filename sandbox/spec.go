package sandbox

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	v1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/sandbox/nsfs"
)

// PauseDevDir is the directory the pause's rootfs must hold (empty), bound onto itself as its
// /dev.
const PauseDevDir = "dev"

// PauseBinaryFile is the (empty) file the pause's rootfs must hold, the mount point of the
// pause's binary (PauseArgs[0]).
const PauseBinaryFile = "pause"

// PauseUID is the uid and gid of the pause process (the "nobody" of Kubernetes' pause image).
const PauseUID = 65535

// PauseOOMScoreAdj is the pause's oom_score_adj, the kubelet's value for the sandbox: the last
// process of the pod the OOM killer should pick.
const PauseOOMScoreAdj = -998

// hostnameMaxLen is the kernel's limit (64 bytes with the terminating NUL).
const hostnameMaxLen = 63

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
