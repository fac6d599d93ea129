package runtime

import (
	"slices"
	"strings"

	v1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/sandbox"
)

// ReasonSysctlForbidden is the kubelet's pod rejection reason for a sysctl it may not set.
const ReasonSysctlForbidden = "SysctlForbidden"

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

// ValidateSysctls is the kubelet's sysctl admission: every sysctl of the pod must be safe or
// match an allowed unsafe pattern ("net.core.*" or an exact name), be namespaced, and not
// belong to a namespace the pod shares with the host. A rejection is a *ConfigError with
// Reason SysctlForbidden (the pod fails, as the kubelet rejects it).
func ValidateSysctls(pod *v1.Pod, allowedUnsafe []string) error {
	sc := pod.Spec.SecurityContext
	if sc == nil {
		return nil
	}
	for _, s := range sc.Sysctls {
		name := sandbox.NormalizeSysctlName(s.Name)
		ns := sandbox.SysctlNamespace(name)
		allowed := slices.Contains(SafeSysctls, name) || slices.ContainsFunc(allowedUnsafe, func(p string) bool {
			return sysctlPatternMatch(sandbox.NormalizeSysctlName(p), name)
		})
		switch {
		case !allowed || ns == "":
			return &ConfigError{Reason: ReasonSysctlForbidden, Message: "forbidden sysctl: \"" + name + "\" not allowlisted"}
		case ns == "net" && pod.Spec.HostNetwork, ns == "ipc" && pod.Spec.HostIPC:
			return &ConfigError{Reason: ReasonSysctlForbidden, Message: "forbidden sysctl: \"" + name + "\" not allowed with host " + ns + " enabled"}
		}
	}
	return nil
}

// sysctlPatternMatch is the kubelet's allowlist match: a pattern ending in "*" is a prefix,
// anything else an exact name.
func sysctlPatternMatch(pattern, name string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(name, prefix)
	}
	return pattern == name
}
