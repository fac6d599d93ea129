package sandbox

import (
	"fmt"
	"os"
	"path/filepath"

	v1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/network"
)

// WriteFiles writes the pod's hostname, hosts and resolv.conf into dir and returns their paths.
// The content is package network's (the kubelet's rules: dnsPolicy, dnsConfig, hostAliases);
// ip is the pod IP, "" while the network is not configured (the hosts file then has no line
// for the pod itself, until the runtime rewrites it with the IP). hostNetwork pods get the
// host's /etc/hosts, as the kubelet gives them.
func WriteFiles(dir string, pod *v1.Pod, hostname, ip string) (hostnamePath, hostsPath, resolvPath string, err error) {
	hostnamePath = filepath.Join(dir, "hostname")
	hostsPath = filepath.Join(dir, "hosts")
	resolvPath = filepath.Join(dir, "resolv.conf")
	if err = os.WriteFile(hostnamePath, []byte(hostname+"\n"), 0o644); err != nil {
		return "", "", "", fmt.Errorf("write hostname: %w", err)
	}
	hosts := network.HostsFile(pod, ip, hostname)
	if pod.Spec.HostNetwork {
		b, _ := os.ReadFile("/etc/hosts") // none: only the header and hostAliases
		hosts = network.HostNetworkHostsFile(pod, b)
	}
	if err = os.WriteFile(hostsPath, hosts, 0o644); err != nil {
		return "", "", "", fmt.Errorf("write hosts: %w", err)
	}
	host, err := network.HostResolvConf()
	if err != nil {
		host = nil // no host resolv.conf: the pod gets only its dnsConfig
	}
	resolv, err := network.ResolvConf(pod, host)
	if err != nil {
		return "", "", "", fmt.Errorf("resolv.conf: %w", err)
	}
	if err = os.WriteFile(resolvPath, resolv, 0o644); err != nil {
		return "", "", "", fmt.Errorf("write resolv.conf: %w", err)
	}
	return hostnamePath, hostsPath, resolvPath, nil
}
