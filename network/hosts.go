package network

import (
	"bytes"
	"fmt"
	"strings"

	v1 "k8s.io/api/core/v1"
)

// ClusterDomain is the DNS domain the FQDN of a pod with a subdomain ends in, the kubelet's
// default --cluster-domain.
const ClusterDomain = "cluster.local"

// HostsFile builds a pod's /etc/hosts as the kubelet does: its "# Kubernetes-managed hosts
// file." header, the localhost lines, the pod IP with the hostname (preceded by the FQDN
// "<hostname>.<subdomain>.<namespace>.svc.cluster.local" when the pod has a subdomain), and
// the pod's hostAliases. podIP "" leaves out the pod's own line.
func HostsFile(pod *v1.Pod, podIP string, hostname string) []byte {
	var b bytes.Buffer
	b.WriteString("# Kubernetes-managed hosts file.\n")
	b.WriteString("127.0.0.1\tlocalhost\n")
	b.WriteString("::1\tlocalhost ip6-localhost ip6-loopback\n")
	b.WriteString("fe00::0\tip6-localnet\n")
	b.WriteString("fe00::0\tip6-mcastprefix\n")
	b.WriteString("fe00::1\tip6-allnodes\n")
	b.WriteString("fe00::2\tip6-allrouters\n")
	if podIP != "" && hostname != "" {
		if pod != nil && pod.Spec.Subdomain != "" {
			fmt.Fprintf(&b, "%s\t%s.%s.%s.svc.%s\t%s\n", podIP, hostname, pod.Spec.Subdomain, pod.Namespace, ClusterDomain, hostname)
		} else {
			fmt.Fprintf(&b, "%s\t%s\n", podIP, hostname)
		}
	}
	if pod != nil && len(pod.Spec.HostAliases) > 0 {
		writeHostAliases(&b, pod.Spec.HostAliases)
	}
	return b.Bytes()
}

// HostNetworkHostsFile builds the /etc/hosts of a hostNetwork pod as the kubelet does: the
// host's own file under a "(host network)" header, then the pod's hostAliases.
func HostNetworkHostsFile(pod *v1.Pod, hostHosts []byte) []byte {
	var b bytes.Buffer
	b.WriteString("# Kubernetes-managed hosts file (host network).\n")
	b.Write(hostHosts)
	if pod != nil && len(pod.Spec.HostAliases) > 0 {
		if len(hostHosts) > 0 && hostHosts[len(hostHosts)-1] != '\n' {
			b.WriteByte('\n')
		}
		writeHostAliases(&b, pod.Spec.HostAliases)
	}
	return b.Bytes()
}

func writeHostAliases(b *bytes.Buffer, aliases []v1.HostAlias) {
	b.WriteString("\n# Entries added by HostAliases.\n")
	for _, a := range aliases {
		fmt.Fprintf(b, "%s\t%s\n", a.IP, strings.Join(a.Hostnames, "\t"))
	}
}
