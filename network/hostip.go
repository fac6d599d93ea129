package network

import (
	"errors"
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
)

// HostIP returns the host's primary IPv4 address, for a pod's status.hostIP: the source
// address of the default route, else the first address of the default route's device, else
// the first global address of any device.
func HostIP() (net.IP, error) {
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return nil, fmt.Errorf("host IP: list routes: %w", err)
	}
	for _, r := range routes {
		if !isDefaultRoute(r) {
			continue
		}
		if r.Src != nil && r.Src.To4() != nil {
			return r.Src.To4(), nil
		}
		if l, err := netlink.LinkByIndex(r.LinkIndex); err == nil {
			if ip := firstGlobalV4(l); ip != nil {
				return ip, nil
			}
		}
	}
	links, err := netlink.LinkList()
	if err != nil {
		return nil, fmt.Errorf("host IP: list links: %w", err)
	}
	for _, l := range links {
		if ip := firstGlobalV4(l); ip != nil {
			return ip, nil
		}
	}
	return nil, errors.New("host IP: no IPv4 address outside loopback")
}

func firstGlobalV4(l netlink.Link) net.IP {
	addrs, err := netlink.AddrList(l, netlink.FAMILY_V4)
	if err != nil {
		return nil
	}
	for _, a := range addrs {
		if ip := a.IP.To4(); ip != nil && !ip.IsLoopback() && !ip.IsLinkLocalUnicast() {
			return ip
		}
	}
	return nil
}
