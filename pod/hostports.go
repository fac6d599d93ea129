package pod

import (
	"fmt"
	"net"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// A hostPort already held by another pod of this host is refused when the pod is created, as
// the scheduler's NodePorts filter would not place such a pod on the node: the user gets one
// clear error at `podrun run` instead of a pod that retries its sandbox forever.

// hostPortKey is one hostPort claim: protocol, port and host address ("" = every address).
type hostPortKey struct {
	protocol v1.Protocol
	port     int32
	hostIP   string
}

// overlaps tells whether two claims compete for the same packets (the scheduler's rule: the
// same protocol and port, and the same address or either on every address).
func (a hostPortKey) overlaps(b hostPortKey) bool {
	return a.protocol == b.protocol && a.port == b.port &&
		(a.hostIP == "" || b.hostIP == "" || a.hostIP == b.hostIP)
}

func (a hostPortKey) String() string {
	ip := a.hostIP
	if ip == "" {
		ip = "0.0.0.0"
	}
	return fmt.Sprintf("%s:%d/%s", ip, a.port, a.protocol)
}

// podHostPorts lists the hostPort claims of a pod with the field path of each.
func podHostPorts(s *v1.PodSpec) ([]hostPortKey, []*field.Path) {
	var keys []hostPortKey
	var paths []*field.Path
	add := func(cs []v1.Container, fp *field.Path) {
		for i, c := range cs {
			for j, p := range c.Ports {
				if p.HostPort == 0 {
					continue
				}
				k := hostPortKey{protocol: p.Protocol, port: p.HostPort}
				if k.protocol == "" {
					k.protocol = v1.ProtocolTCP
				}
				if ip := net.ParseIP(p.HostIP); ip != nil && !ip.IsUnspecified() {
					k.hostIP = ip.String()
				}
				keys = append(keys, k)
				paths = append(paths, fp.Index(i).Child("ports").Index(j).Child("hostPort"))
			}
		}
	}
	spec := field.NewPath("spec")
	add(s.InitContainers, spec.Child("initContainers"))
	add(s.Containers, spec.Child("containers"))
	return keys, paths
}

// hostPortConflictsLocked refuses the hostPorts of p that a pod not yet finished holds.
// m.mu is held, so that the check and the pod's registration are one step under concurrent
// creations.
func (m *Manager) hostPortConflictsLocked(p *v1.Pod) field.ErrorList {
	keys, paths := podHostPorts(&p.Spec)
	if len(keys) == 0 {
		return nil
	}
	var errs field.ErrorList
	for _, e := range m.pods {
		o := e.pod
		if o == nil || o.UID == p.UID || o.Status.Phase == v1.PodSucceeded || o.Status.Phase == v1.PodFailed {
			continue
		}
		theirs, _ := podHostPorts(&o.Spec)
		for i, k := range keys {
			for _, t := range theirs {
				if k.overlaps(t) {
					errs = append(errs, field.Invalid(paths[i], k.port,
						fmt.Sprintf("hostPort %s is already allocated to pod %s/%s", k, o.Namespace, o.Name)))
					break
				}
			}
		}
	}
	return errs
}
