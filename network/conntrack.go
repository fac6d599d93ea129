package network

import (
	"net"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
	v1 "k8s.io/api/core/v1"
)

// UDP has no connection set-up for NAT to act on: conntrack entries made before a hostPort
// was mapped (packets to a closed port) keep steering a client's datagrams past the new DNAT
// rule, and entries DNATed to a deleted pod keep black-holing them, until they time out. So,
// as the CNI portmap plugin does, the entries are deleted when a UDP hostPort is mapped and
// when its pod goes. TCP needs nothing: a new connection gets a new entry.

// clearUDPHostPortFlows deletes the UDP conntrack entries addressed to the new hostPorts.
func (m *Manager) clearUDPHostPortFlows(ports []portMapping) {
	var filters []netlink.CustomConntrackFilter
	for _, p := range ports {
		if p.Protocol != v1.ProtocolUDP {
			continue
		}
		f := &netlink.ConntrackFilter{}
		if err := f.AddProtocol(unix.IPPROTO_UDP); err != nil {
			continue
		}
		if err := f.AddPort(netlink.ConntrackOrigDstPort, uint16(p.HostPort)); err != nil {
			continue
		}
		filters = append(filters, f)
	}
	m.deleteFlows(filters)
}

// clearUDPPodFlows deletes the UDP conntrack entries DNATed to podIP.
func (m *Manager) clearUDPPodFlows(podIP net.IP) {
	f := &netlink.ConntrackFilter{}
	if f.AddProtocol(unix.IPPROTO_UDP) != nil || f.AddIP(netlink.ConntrackReplySrcIP, podIP) != nil {
		return
	}
	m.deleteFlows([]netlink.CustomConntrackFilter{f})
}

func (m *Manager) deleteFlows(filters []netlink.CustomConntrackFilter) {
	if len(filters) == 0 {
		return
	}
	// Best effort: without conntrack support nothing is stale either.
	if n, err := netlink.ConntrackDeleteFilters(netlink.ConntrackTable, unix.AF_INET, filters...); err != nil {
		m.log.Warn("delete stale UDP conntrack entries", "err", err)
	} else if n > 0 {
		m.log.Debug("deleted stale UDP conntrack entries", "count", n)
	}
}
