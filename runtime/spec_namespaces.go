package runtime

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// WithNamespaces joins the pod's namespaces held by the pause: net, ipc and uts by their pinned
// paths (a kind absent from Sandbox.Namespaces is the host's: hostNetwork, hostIPC, and the
// spec then has no entry for it). pid: the pause's with shareProcessNamespace, the host's with
// hostPID, else a new one. The mount namespace is always new. No hostname is set: the
// container shares the pause's UTS namespace, and setting it would rename the whole pod.
func WithNamespaces(s *specs.Spec, in *SpecInput) error {
	var ns []specs.LinuxNamespace
	for _, kind := range []struct {
		key string
		typ specs.LinuxNamespaceType
	}{{"net", specs.NetworkNamespace}, {"ipc", specs.IPCNamespace}, {"uts", specs.UTSNamespace}} {
		if p, ok := in.Sandbox.Namespaces[kind.key]; ok && p != "" {
			ns = append(ns, specs.LinuxNamespace{Type: kind.typ, Path: p})
		}
	}
	spec := in.Config.Pod.Spec
	sharePID := spec.ShareProcessNamespace != nil && *spec.ShareProcessNamespace
	switch {
	case spec.HostPID:
		// the host's: no entry
	case sharePID:
		p := in.Sandbox.Namespaces["pid"]
		if p == "" {
			return fmt.Errorf("pod shares its process namespace but sandbox %s has no pid namespace", in.Sandbox.ID)
		}
		ns = append(ns, specs.LinuxNamespace{Type: specs.PIDNamespace, Path: p})
	default:
		ns = append(ns, specs.LinuxNamespace{Type: specs.PIDNamespace})
	}
	ns = append(ns, specs.LinuxNamespace{Type: specs.MountNamespace})
	s.Linux.Namespaces = ns
	s.Hostname = ""
	return nil
}
