package runtime

import (
	v1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/sandbox"
)

// ReasonSysctlForbidden is the kubelet's pod rejection reason for a sysctl it may not set.
const ReasonSysctlForbidden = "SysctlForbidden"

// SafeSysctls are the sysctls the kubelet always allows (see sandbox.SafeSysctls).
var SafeSysctls = sandbox.SafeSysctls

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
		allowed := sandbox.SysctlAllowed(name, allowedUnsafe)
		switch {
		case !allowed || ns == "":
			return &ConfigError{Reason: ReasonSysctlForbidden, Message: "forbidden sysctl: \"" + name + "\" not allowlisted"}
		case ns == "net" && pod.Spec.HostNetwork, ns == "ipc" && pod.Spec.HostIPC:
			return &ConfigError{Reason: ReasonSysctlForbidden, Message: "forbidden sysctl: \"" + name + "\" not allowed with host " + ns + " enabled"}
		}
	}
	return nil
}
