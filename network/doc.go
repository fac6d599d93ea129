// Package network gives pods their network: bridge, veth pairs, IPAM, hostPorts, /etc/hosts
// and resolv.conf, through netlink and nftables.
package network
