package network

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// vethName is the host end's name of the sandbox's veth pair: "veth" and 8 hex characters,
// the ID's own when it starts with them (so `ip link` can be matched to `podrun` by eye),
// else a digest of it. The sandbox ID is also stored as the link's alias, and Teardown checks
// it before deleting, so a clash of two prefixes never removes another pod's link.
func vethName(sandboxID string) string {
	if len(sandboxID) >= 8 && isLowerHex(sandboxID[:8]) {
		return "veth" + sandboxID[:8]
	}
	sum := sha256.Sum256([]byte(sandboxID))
	return "veth" + hex.EncodeToString(sum[:4])
}

func isLowerHex(s string) bool {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// ensureBridge makes the bridge with the gateway address when missing, brings it up, and
// enables forwarding and route_localnet. Callers hold m.mu.
func (m *Manager) ensureBridge() (netlink.Link, error) {
	if m.mtu == 0 {
		m.mtu = defaultRouteMTU()
	}
	br, err := netlink.LinkByName(m.cfg.Bridge)
	if err != nil && !isNotFound(err) {
		return nil, fmt.Errorf("find bridge %s: %w", m.cfg.Bridge, err)
	}
	if br == nil {
		attrs := netlink.NewLinkAttrs()
		attrs.Name = m.cfg.Bridge
		attrs.MTU = m.mtu
		// A bridge without a fixed MAC takes the lowest MAC of its ports, so it changes as pods
		// come and go and the pods' ARP caches go stale. Fix a locally administered one.
		attrs.HardwareAddr = bridgeMAC(m.gateway)
		if err := netlink.LinkAdd(&netlink.Bridge{LinkAttrs: attrs}); err != nil && !errors.Is(err, unix.EEXIST) {
			return nil, fmt.Errorf("create bridge %s: %w", m.cfg.Bridge, err)
		}
		if br, err = netlink.LinkByName(m.cfg.Bridge); err != nil {
			return nil, fmt.Errorf("find bridge %s: %w", m.cfg.Bridge, err)
		}
		m.log.Info("created pod bridge", "bridge", m.cfg.Bridge, "cidr", m.subnet.String(), "mtu", m.mtu)
	}
	if br.Type() != "bridge" {
		return nil, fmt.Errorf("%s exists and is a %s, not a bridge", m.cfg.Bridge, br.Type())
	}
	gw := &netlink.Addr{IPNet: &net.IPNet{IP: m.gateway, Mask: m.subnet.Mask}}
	addrs, err := netlink.AddrList(br, netlink.FAMILY_V4)
	if err != nil {
		return nil, fmt.Errorf("list addresses of %s: %w", m.cfg.Bridge, err)
	}
	if !hasAddr(addrs, gw.IPNet) {
		if err := netlink.AddrReplace(br, gw); err != nil {
			return nil, fmt.Errorf("add gateway %s to %s: %w", gw.IPNet, m.cfg.Bridge, err)
		}
	}
	if br.Attrs().Flags&net.FlagUp == 0 {
		if err := netlink.LinkSetUp(br); err != nil {
			return nil, fmt.Errorf("bring up %s: %w", m.cfg.Bridge, err)
		}
	}
	// Pods reach the outside (and each other's hostPorts) through the host's routing.
	if err := writeSysctl("net/ipv4/ip_forward", "1"); err != nil {
		return nil, err
	}
	// A hostPort reached through 127.0.0.1 is DNATed to the pod and leaves by the bridge with
	// a loopback source; the kernel drops such packets as martians unless route_localnet is
	// set on the outgoing interface (the SNAT in postrouting then gives them the gateway's
	// address). This is what the CNI portmap plugin does for its bridge.
	if err := writeSysctl(filepath.Join("net/ipv4/conf", m.cfg.Bridge, "route_localnet"), "1"); err != nil {
		return nil, err
	}
	return br, nil
}

func hasAddr(addrs []netlink.Addr, want *net.IPNet) bool {
	for _, a := range addrs {
		if a.IPNet != nil && a.IPNet.IP.Equal(want.IP) && a.IPNet.Mask.String() == want.Mask.String() {
			return true
		}
	}
	return false
}

// bridgeMAC derives a stable locally administered unicast MAC from the gateway address.
func bridgeMAC(gw net.IP) net.HardwareAddr {
	ip := gw.To4()
	return net.HardwareAddr{0x02, 0x50, ip[0], ip[1], ip[2], ip[3]}
}

func writeSysctl(name, value string) error {
	p := filepath.Join("/proc/sys", name)
	if cur, err := os.ReadFile(p); err == nil && string(cur) == value+"\n" {
		return nil
	}
	if err := os.WriteFile(p, []byte(value), 0o644); err != nil {
		return fmt.Errorf("set sysctl %s=%s: %w", name, value, err)
	}
	return nil
}

// defaultRouteMTU is the MTU of the device of the host's IPv4 default route, 1500 without
// one: pod packets leave through it, and a larger pod MTU would make them fragment or drop.
func defaultRouteMTU() int {
	if l := defaultRouteLink(); l != nil && l.Attrs().MTU > 0 {
		return l.Attrs().MTU
	}
	return 1500
}

func defaultRouteLink() netlink.Link {
	routes, err := netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return nil
	}
	for _, r := range routes {
		if isDefaultRoute(r) && r.LinkIndex > 0 {
			if l, err := netlink.LinkByIndex(r.LinkIndex); err == nil {
				return l
			}
		}
	}
	return nil
}

func isDefaultRoute(r netlink.Route) bool {
	if r.Dst == nil {
		return true
	}
	ones, _ := r.Dst.Mask.Size()
	return ones == 0
}

// ensureVeth gives the netns an eth0 with ip, the other end of a veth pair named hostVeth on
// the bridge. An existing, complete pair of the same sandbox is kept (made = false); a partial
// one is replaced.
func (m *Manager) ensureVeth(br netlink.Link, ns netns.NsHandle, sandboxID, hostVeth string, ip net.IP) (made bool, err error) {
	nsh, err := netlink.NewHandleAt(ns)
	if err != nil {
		return false, fmt.Errorf("netlink in netns: %w", err)
	}
	defer nsh.Close()
	podAddr := &net.IPNet{IP: ip, Mask: m.subnet.Mask}

	if host, err := netlink.LinkByName(hostVeth); err == nil {
		if host.Attrs().Alias != sandboxID {
			return false, fmt.Errorf("veth %s exists and belongs to %q", hostVeth, host.Attrs().Alias)
		}
		if m.vethComplete(nsh, host, br, podAddr) {
			return false, nil
		}
		m.log.Info("replacing incomplete veth pair", "sandbox", sandboxID, "veth", hostVeth)
		if err := netlink.LinkDel(host); err != nil && !isNotFound(err) {
			return false, fmt.Errorf("delete incomplete veth %s: %w", hostVeth, err)
		}
	} else if !isNotFound(err) {
		return false, fmt.Errorf("find veth %s: %w", hostVeth, err)
	}
	// A stale eth0 left in the namespace would make the creation of the peer fail.
	if old, err := nsh.LinkByName(podInterface); err == nil {
		if err := nsh.LinkDel(old); err != nil {
			return false, fmt.Errorf("delete stale %s in netns: %w", podInterface, err)
		}
	}

	attrs := netlink.NewLinkAttrs()
	attrs.Name = hostVeth
	attrs.MTU = m.mtu
	veth := &netlink.Veth{
		LinkAttrs: attrs,
		// Created directly inside the namespace: no window where a second "eth0" exists on
		// the host, and no rename.
		PeerName:      podInterface,
		PeerNamespace: netlink.NsFd(int(ns)),
		PeerMTU:       uint32(m.mtu),
	}
	if err := netlink.LinkAdd(veth); err != nil {
		return false, fmt.Errorf("create veth %s: %w", hostVeth, err)
	}
	made = true
	defer func() {
		if err != nil {
			_ = netlink.LinkDel(veth)
			made = false
		}
	}()
	host, err := netlink.LinkByName(hostVeth)
	if err != nil {
		return made, fmt.Errorf("find veth %s: %w", hostVeth, err)
	}
	if err := netlink.LinkSetAlias(host, sandboxID); err != nil {
		return made, fmt.Errorf("set alias of %s: %w", hostVeth, err)
	}
	if err := netlink.LinkSetMaster(host, br); err != nil {
		return made, fmt.Errorf("attach %s to %s: %w", hostVeth, m.cfg.Bridge, err)
	}
	// With br_netfilter (bridge-nf-call-iptables=1) a pod's packet to its own hostPort is
	// DNATed while being bridged and must leave by the port it came in: hairpin mode, as the
	// kubelet's hairpin-veth mode and the CNI bridge plugin's hairpinMode set it.
	if err := netlink.LinkSetHairpin(host, true); err != nil {
		return made, fmt.Errorf("set hairpin on %s: %w", hostVeth, err)
	}
	if err := netlink.LinkSetUp(host); err != nil {
		return made, fmt.Errorf("bring up %s: %w", hostVeth, err)
	}
	if err := m.configurePod(nsh, podAddr); err != nil {
		return made, err
	}
	m.waitOperUp(nsh, hostVeth)
	return made, nil
}

// waitOperUp waits (briefly) until the kernel's link watcher has seen both ends of the pair,
// and the bridge, come up. Until then a device's qdisc is still the "noop" one, which drops
// every packet: the bridge loses its carrier when its last pod goes, and the first SYN to the
// next pod was lost and retried a second later (seen in tests as 1 s connects, 1 in 10). It
// takes well under a millisecond; a timeout is only logged.
func (m *Manager) waitOperUp(nsh *netlink.Handle, hostVeth string) {
	deadline := time.Now().Add(2 * time.Second)
	for {
		host, err1 := netlink.LinkByName(hostVeth)
		eth, err2 := nsh.LinkByName(podInterface)
		br, err3 := netlink.LinkByName(m.cfg.Bridge)
		if err1 == nil && err2 == nil && err3 == nil && host.Attrs().OperState == netlink.OperUp &&
			eth.Attrs().OperState == netlink.OperUp && br.Attrs().OperState == netlink.OperUp {
			return
		}
		if time.Now().After(deadline) {
			m.log.Warn("veth pair not operational after 2s", "veth", hostVeth)
			return
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// configurePod sets up lo and eth0 inside the namespace.
func (m *Manager) configurePod(nsh *netlink.Handle, podAddr *net.IPNet) error {
	lo, err := nsh.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("find lo in netns: %w", err)
	}
	if err := nsh.LinkSetUp(lo); err != nil {
		return fmt.Errorf("bring up lo in netns: %w", err)
	}
	eth, err := nsh.LinkByName(podInterface)
	if err != nil {
		return fmt.Errorf("find %s in netns: %w", podInterface, err)
	}
	if err := nsh.AddrReplace(eth, &netlink.Addr{IPNet: podAddr}); err != nil {
		return fmt.Errorf("add %s to %s in netns: %w", podAddr, podInterface, err)
	}
	if err := nsh.LinkSetUp(eth); err != nil {
		return fmt.Errorf("bring up %s in netns: %w", podInterface, err)
	}
	def := &netlink.Route{LinkIndex: eth.Attrs().Index, Gw: m.gateway, Scope: netlink.SCOPE_UNIVERSE}
	if err := nsh.RouteReplace(def); err != nil {
		return fmt.Errorf("add default route via %s in netns: %w", m.gateway, err)
	}
	return nil
}

// vethComplete tells whether an existing pair is fully set up: host end up on the bridge, pod
// end eth0 up with the address and the default route.
func (m *Manager) vethComplete(nsh *netlink.Handle, host, br netlink.Link, podAddr *net.IPNet) bool {
	if host.Attrs().MasterIndex != br.Attrs().Index || host.Attrs().Flags&net.FlagUp == 0 {
		return false
	}
	eth, err := nsh.LinkByName(podInterface)
	if err != nil || eth.Attrs().Flags&net.FlagUp == 0 {
		return false
	}
	// The pod end must be this host end's peer, not an unrelated eth0.
	veth, ok := host.(*netlink.Veth)
	if !ok {
		return false
	}
	if idx, err := netlink.VethPeerIndex(veth); err != nil || idx != eth.Attrs().Index {
		return false
	}
	addrs, err := nsh.AddrList(eth, netlink.FAMILY_V4)
	if err != nil || !hasAddr(addrs, podAddr) {
		return false
	}
	routes, err := nsh.RouteList(eth, netlink.FAMILY_V4)
	if err != nil {
		return false
	}
	for _, r := range routes {
		if isDefaultRoute(r) && r.Gw.Equal(m.gateway) {
			return true
		}
	}
	return false
}

// deleteVeth deletes the sandbox's host veth (the kernel deletes its peer with it), if it is
// still there and really the sandbox's.
func (m *Manager) deleteVeth(sandboxID, hostVeth string) error {
	l, err := netlink.LinkByName(hostVeth)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("find veth %s: %w", hostVeth, err)
	}
	if a := l.Attrs().Alias; a != sandboxID && a != "" {
		m.log.Warn("veth belongs to another sandbox; left alone", "veth", hostVeth, "sandbox", sandboxID, "owner", a)
		return nil
	}
	if err := netlink.LinkDel(l); err != nil && !isNotFound(err) {
		return fmt.Errorf("delete veth %s: %w", hostVeth, err)
	}
	return nil
}
