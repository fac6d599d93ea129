package network

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"
)

// portMapping is one hostPort of a pod: traffic to HostIP:HostPort (any local address when
// HostIP is nil) goes to podIP:ContainerPort.
type portMapping struct {
	Protocol      v1.Protocol // TCP, UDP or SCTP
	HostIP        net.IP      // nil = every local address
	HostPort      int32
	ContainerPort int32
}

func (p portMapping) hostIPString() string {
	if p.HostIP == nil {
		return "0.0.0.0"
	}
	return p.HostIP.String()
}

// hostPorts collects the hostPorts of the pod's containers and of its sidecars (restartable
// init containers run for the pod's whole life, so the kubelet maps their ports too).
func hostPorts(pod *v1.Pod) ([]portMapping, error) {
	if pod == nil || pod.Spec.HostNetwork {
		return nil, nil
	}
	var containers []v1.Container
	for _, c := range pod.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == v1.ContainerRestartPolicyAlways {
			containers = append(containers, c)
		}
	}
	containers = append(containers, pod.Spec.Containers...)
	var out []portMapping
	for _, c := range containers {
		for _, p := range c.Ports {
			if p.HostPort == 0 {
				continue
			}
			pm := portMapping{Protocol: p.Protocol, HostPort: p.HostPort, ContainerPort: p.ContainerPort}
			if pm.Protocol == "" {
				pm.Protocol = v1.ProtocolTCP
			}
			switch pm.Protocol {
			case v1.ProtocolTCP, v1.ProtocolUDP, v1.ProtocolSCTP:
			default:
				return nil, fmt.Errorf("container %s: hostPort %d: unsupported protocol %q", c.Name, p.HostPort, p.Protocol)
			}
			if p.HostPort < 1 || p.HostPort > 65535 || p.ContainerPort < 1 || p.ContainerPort > 65535 {
				return nil, fmt.Errorf("container %s: hostPort %d → containerPort %d: port out of range", c.Name, p.HostPort, p.ContainerPort)
			}
			if p.HostIP != "" {
				ip := net.ParseIP(p.HostIP)
				if ip == nil {
					return nil, fmt.Errorf("container %s: hostPort %d: invalid hostIP %q", c.Name, p.HostPort, p.HostIP)
				}
				if ip.To4() == nil {
					return nil, fmt.Errorf("container %s: hostPort %d: hostIP %s: only IPv4 is supported", c.Name, p.HostPort, p.HostIP)
				}
				if !ip.IsUnspecified() {
					pm.HostIP = ip.To4()
				}
			}
			for _, q := range out {
				if overlaps(q, pm) {
					return nil, fmt.Errorf("container %s: hostPort %d/%s is listed twice in the pod", c.Name, p.HostPort, pm.Protocol)
				}
			}
			out = append(out, pm)
		}
	}
	return out, nil
}

// overlaps tells whether two mappings compete for the same packets: same protocol and port,
// and the same host address or either on every address.
func overlaps(a, b portMapping) bool {
	return a.Protocol == b.Protocol && a.HostPort == b.HostPort &&
		(a.HostIP == nil || b.HostIP == nil || a.HostIP.Equal(b.HostIP))
}

// hostPortRule is one hostPort rule found in the table, as recorded in its comment.
type hostPortRule struct {
	handle    uint64
	sandboxID string
	pod       string
	mapping   portMapping
}

// The comment of each hostPort rule (nft shows it) records whose it is and what it maps:
//
//	podrun-hostport sandbox=<id> map=TCP/0.0.0.0/8080 pod=<ns>/<name>
//
// Teardown deletes by sandbox; the conflict check reads the mapping. The pod comes last
// because it is the part cut when the comment exceeds nftables' 255-byte limit.
const commentPrefix = "podrun-hostport"

func ruleComment(sandboxID, pod string, p portMapping) string {
	s := fmt.Sprintf("%s sandbox=%s map=%s/%s/%d pod=%s", commentPrefix, sandboxID, p.Protocol, p.hostIPString(), p.HostPort, pod)
	if len(s) > 254 {
		s = s[:254]
	}
	return s
}

func parseRuleComment(s string) (sandboxID, pod string, p portMapping, ok bool) {
	f := strings.SplitN(s, " ", 4)
	if len(f) < 3 || f[0] != commentPrefix {
		return "", "", p, false
	}
	sandboxID, ok1 := strings.CutPrefix(f[1], "sandbox=")
	m, ok2 := strings.CutPrefix(f[2], "map=")
	if !ok1 || !ok2 {
		return "", "", p, false
	}
	parts := strings.Split(m, "/")
	if len(parts) != 3 {
		return "", "", p, false
	}
	port, err := strconv.Atoi(parts[2])
	if err != nil {
		return "", "", p, false
	}
	p.Protocol = v1.Protocol(parts[0])
	p.HostPort = int32(port)
	if ip := net.ParseIP(parts[1]).To4(); ip != nil && !ip.IsUnspecified() {
		p.HostIP = ip
	}
	if len(f) == 4 {
		pod = strings.TrimPrefix(f[3], "pod=")
	}
	return sandboxID, pod, p, true
}

// conflict refuses ports already mapped by another sandbox.
func conflict(sandboxID string, ports []portMapping, existing []*hostPortRule) error {
	for _, p := range ports {
		for _, r := range existing {
			if r.sandboxID == sandboxID || !overlaps(p, r.mapping) {
				continue
			}
			owner := r.pod
			if owner == "" || owner == "/" {
				owner = "(unknown)"
			}
			return fmt.Errorf("hostPort %d/%s is already allocated to pod %s (sandbox %s, hostIP %s)",
				p.HostPort, p.Protocol, owner, shortID(r.sandboxID), r.mapping.hostIPString())
		}
	}
	return nil
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
