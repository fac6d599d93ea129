package pod

import (
	"fmt"
	"math"
	"regexp"
	"strings"

	"github.com/moby/sys/capability"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/podrun/podrun/sandbox"
)

// validateSecurity checks the pod's and its containers' securityContext as the API server does
// (ids in range, profiles well formed, privileged without allowPrivilegeEscalation: false) and
// adds what a Linux node would refuse anyway, so that it fails at `podrun run` rather than at
// container creation: windowsOptions, unknown capability names, and sysctls the kubelet would
// not allow (safe set + the daemon's --allowed-unsafe-sysctls patterns).
func validateSecurity(s *v1.PodSpec, fp *field.Path, allowedUnsafeSysctls []string) field.ErrorList {
	var errs field.ErrorList
	// Running such a pod in the host's user namespace would silently give its root the host's
	// root: refuse rather than pretend (podrun does not make user namespaces).
	if s.HostUsers != nil && !*s.HostUsers {
		errs = append(errs, field.Forbidden(fp.Child("hostUsers"), "podrun does not support user namespaces: hostUsers must be true or unset"))
	}
	if sc := s.SecurityContext; sc != nil {
		scp := fp.Child("securityContext")
		errs = append(errs, validateID(sc.RunAsUser, scp.Child("runAsUser"))...)
		errs = append(errs, validateID(sc.RunAsGroup, scp.Child("runAsGroup"))...)
		errs = append(errs, validateID(sc.FSGroup, scp.Child("fsGroup"))...)
		for i, g := range sc.SupplementalGroups {
			errs = append(errs, validateID(&g, scp.Child("supplementalGroups").Index(i))...)
		}
		if p := sc.FSGroupChangePolicy; p != nil && *p != v1.FSGroupChangeOnRootMismatch && *p != v1.FSGroupChangeAlways {
			errs = append(errs, field.NotSupported(scp.Child("fsGroupChangePolicy"), *p,
				[]string{string(v1.FSGroupChangeOnRootMismatch), string(v1.FSGroupChangeAlways)}))
		}
		if p := sc.SupplementalGroupsPolicy; p != nil && *p != v1.SupplementalGroupsPolicyMerge && *p != v1.SupplementalGroupsPolicyStrict {
			errs = append(errs, field.NotSupported(scp.Child("supplementalGroupsPolicy"), *p,
				[]string{string(v1.SupplementalGroupsPolicyMerge), string(v1.SupplementalGroupsPolicyStrict)}))
		}
		if sc.WindowsOptions != nil {
			errs = append(errs, field.Forbidden(scp.Child("windowsOptions"), "may not be set for a linux pod"))
		}
		errs = append(errs, validateSeccomp(sc.SeccompProfile, scp.Child("seccompProfile"))...)
		errs = append(errs, validateAppArmor(sc.AppArmorProfile, scp.Child("appArmorProfile"))...)
		errs = append(errs, validateSysctls(sc.Sysctls, scp.Child("sysctls"), allowedUnsafeSysctls, s.HostNetwork, s.HostIPC)...)
	}
	for i := range s.Containers {
		errs = append(errs, validateContainerSecurity(s.Containers[i].SecurityContext, fp.Child("containers").Index(i).Child("securityContext"))...)
	}
	for i := range s.InitContainers {
		errs = append(errs, validateContainerSecurity(s.InitContainers[i].SecurityContext, fp.Child("initContainers").Index(i).Child("securityContext"))...)
	}
	return errs
}

func validateContainerSecurity(sc *v1.SecurityContext, fp *field.Path) field.ErrorList {
	if sc == nil {
		return nil
	}
	var errs field.ErrorList
	errs = append(errs, validateID(sc.RunAsUser, fp.Child("runAsUser"))...)
	errs = append(errs, validateID(sc.RunAsGroup, fp.Child("runAsGroup"))...)
	if sc.WindowsOptions != nil {
		errs = append(errs, field.Forbidden(fp.Child("windowsOptions"), "may not be set for a linux pod"))
	}
	errs = append(errs, validateSeccomp(sc.SeccompProfile, fp.Child("seccompProfile"))...)
	errs = append(errs, validateAppArmor(sc.AppArmorProfile, fp.Child("appArmorProfile"))...)
	if pm := sc.ProcMount; pm != nil && *pm != v1.DefaultProcMount && *pm != v1.UnmaskedProcMount {
		errs = append(errs, field.NotSupported(fp.Child("procMount"), *pm,
			[]string{string(v1.DefaultProcMount), string(v1.UnmaskedProcMount)}))
	}
	var sysAdmin bool
	if caps := sc.Capabilities; caps != nil {
		for i, c := range caps.Add {
			errs = append(errs, validateCapability(string(c), fp.Child("capabilities", "add").Index(i))...)
			if n := normalizeCap(string(c)); n == "SYS_ADMIN" || n == "ALL" {
				sysAdmin = true
			}
		}
		for i, c := range caps.Drop {
			errs = append(errs, validateCapability(string(c), fp.Child("capabilities", "drop").Index(i))...)
		}
	}
	// The API server's messages (ValidateSecurityContext): escalation cannot be denied to a
	// process that holds everything anyway.
	if ape := sc.AllowPrivilegeEscalation; ape != nil && !*ape {
		if sc.Privileged != nil && *sc.Privileged {
			errs = append(errs, field.Invalid(fp, sc, "cannot set `allowPrivilegeEscalation` to false and `privileged` to true"))
		}
		if sysAdmin {
			errs = append(errs, field.Invalid(fp, sc, "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN"))
		}
	}
	return errs
}

// validateID is the API server's ValidateNonnegativeField + IsValidUserID/GroupID bound.
func validateID(id *int64, fp *field.Path) field.ErrorList {
	if id == nil || (*id >= 0 && *id <= math.MaxInt32) {
		return nil
	}
	return field.ErrorList{field.Invalid(fp, *id, fmt.Sprintf("must be between %d and %d, inclusive", 0, math.MaxInt32))}
}

// knownCaps are the capability names Linux defines, upper case without "CAP_".
var knownCaps = func() sets.Set[string] {
	s := sets.New[string]()
	for _, c := range capability.ListKnown() {
		s.Insert(strings.ToUpper(c.String()))
	}
	return s
}()

func normalizeCap(c string) string {
	return strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(c)), "CAP_")
}

// validateCapability accepts "ALL" and Linux capability names with or without "CAP_" (the
// runtime accepts both, as containerd does); anything else would fail at container creation.
func validateCapability(c string, fp *field.Path) field.ErrorList {
	if n := normalizeCap(c); n == "ALL" || knownCaps.Has(n) {
		return nil
	}
	return field.ErrorList{field.NotSupported(fp, c, []string{"ALL", "a Linux capability name such as NET_ADMIN or CAP_NET_ADMIN"})}
}

func validateSeccomp(p *v1.SeccompProfile, fp *field.Path) field.ErrorList {
	if p == nil {
		return nil
	}
	switch p.Type {
	case v1.SeccompProfileTypeLocalhost:
		if p.LocalhostProfile == nil || *p.LocalhostProfile == "" {
			return field.ErrorList{field.Required(fp.Child("localhostProfile"), "must be set when seccomp type is Localhost")}
		}
		return validateLocalProfile(*p.LocalhostProfile, fp.Child("localhostProfile"))
	case v1.SeccompProfileTypeRuntimeDefault, v1.SeccompProfileTypeUnconfined:
		if p.LocalhostProfile != nil {
			return field.ErrorList{field.Invalid(fp.Child("localhostProfile"), *p.LocalhostProfile, "can only be set when seccomp type is Localhost")}
		}
		return nil
	}
	return field.ErrorList{field.NotSupported(fp.Child("type"), p.Type, []string{
		string(v1.SeccompProfileTypeLocalhost), string(v1.SeccompProfileTypeRuntimeDefault), string(v1.SeccompProfileTypeUnconfined)})}
}

func validateAppArmor(p *v1.AppArmorProfile, fp *field.Path) field.ErrorList {
	if p == nil {
		return nil
	}
	switch p.Type {
	case v1.AppArmorProfileTypeLocalhost:
		if p.LocalhostProfile == nil || strings.TrimSpace(*p.LocalhostProfile) == "" {
			return field.ErrorList{field.Required(fp.Child("localhostProfile"), "must be set when AppArmor type is Localhost")}
		}
		return nil
	case v1.AppArmorProfileTypeRuntimeDefault, v1.AppArmorProfileTypeUnconfined:
		if p.LocalhostProfile != nil {
			return field.ErrorList{field.Invalid(fp.Child("localhostProfile"), *p.LocalhostProfile, "can only be set when AppArmor type is Localhost")}
		}
		return nil
	}
	return field.ErrorList{field.NotSupported(fp.Child("type"), p.Type, []string{
		string(v1.AppArmorProfileTypeLocalhost), string(v1.AppArmorProfileTypeRuntimeDefault), string(v1.AppArmorProfileTypeUnconfined)})}
}

// validateLocalProfile: a Localhost seccomp profile is a path relative to the profile root,
// never absolute or climbing out of it (the API server's validateLocalDescendingPath).
func validateLocalProfile(p string, fp *field.Path) field.ErrorList {
	if strings.HasPrefix(p, "/") {
		return field.ErrorList{field.Invalid(fp, p, "must be a relative path")}
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return field.ErrorList{field.Invalid(fp, p, "must not contain '..'")}
		}
	}
	return nil
}

// sysctlNameRE is the API server's sysctl name format (dot or slash form).
var sysctlNameRE = regexp.MustCompile(`^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$`)

func validateSysctls(list []v1.Sysctl, fp *field.Path, allowedUnsafe []string, hostNet, hostIPC bool) field.ErrorList {
	var errs field.ErrorList
	seen := sets.New[string]()
	for i, s := range list {
		np := fp.Index(i).Child("name")
		name := sandbox.NormalizeSysctlName(s.Name)
		switch {
		case s.Name == "":
			errs = append(errs, field.Required(np, ""))
		case len(s.Name) > 253 || !sysctlNameRE.MatchString(s.Name):
			errs = append(errs, field.Invalid(np, s.Name, "must have at most 253 characters and match regex "+sysctlNameRE.String()))
		case seen.Has(name):
			errs = append(errs, field.Duplicate(np, s.Name))
		case sandbox.SysctlNamespace(name) == "":
			errs = append(errs, field.Forbidden(np, fmt.Sprintf("sysctl %q is not namespaced: it would change the whole node", s.Name)))
		case !sandbox.SysctlAllowed(name, allowedUnsafe):
			errs = append(errs, field.Forbidden(np, fmt.Sprintf("unsafe sysctl %q is not allowed: start the daemon with --allowed-unsafe-sysctls to allow it", s.Name)))
		case hostNet && sandbox.SysctlNamespace(name) == "net", hostIPC && sandbox.SysctlNamespace(name) == "ipc":
			// The pod would change the host's own namespace (the kubelet's admission message).
			errs = append(errs, field.Forbidden(np, fmt.Sprintf("sysctl %q not allowed with host %s enabled", s.Name, sandbox.SysctlNamespace(name))))
		}
		seen.Insert(name)
	}
	return errs
}
