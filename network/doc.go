// Package network gives pods their network: bridge, veth pairs, IPAM, hostPorts, /etc/hosts
// and resolv.conf, through netlink and nftables (never by running ip, iptables or nft).
//
// What one Setup makes, as a CNI bridge + host-local + portmap chain would on a node:
//
//	host                                         pod netns (pinned by the sandbox)
//	podrun0 (bridge, 10.88.0.1/16, route_localnet)
//	  └─ veth<8 hex of sandbox ID> (alias = ID) ══ eth0 10.88.x.y/16, default via 10.88.0.1, host MTU
//	                                               lo up
//	nft table ip podrun: DNAT of hostPorts (rule comments name the sandbox), SNAT for
//	127.0.0.1 → pod, pod → hostPort, and (Config.Masquerade) pod → outside
//	<StateDir>/ipam/10.88.0.0-16/<ip>: the sandbox ID holding the address
//
// The kernel and the state directory are the source of truth: a restarted daemon's Manager
// finds the addresses and hostPorts of running pods there, so Setup of a re-adopted sandbox
// keeps its IP. HostsFile, ResolvConf and PodDNS are pure, kubelet-compatible builders of the
// files every container of a pod bind-mounts.
//
// It must not know about containers, the pause process or pod lifecycle: callers hand it a
// sandbox ID, the path of a pinned network namespace and the pod spec.
package network
