package network

import (
	"fmt"
	"net"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"
	v1 "k8s.io/api/core/v1"
)

// nft manages podrun's own nftables table (family ip):
//
//	table ip podrun {
//	  chain prerouting  { type nat hook prerouting priority dstnat; fib daddr type local jump hostports }
//	  chain output      { type nat hook output priority dstnat;     fib daddr type local jump hostports }
//	  chain hostports   { [ip daddr H] meta l4proto P th dport N dnat to POD:PORT comment "podrun-hostport sandbox=…" … }
//	  chain postrouting { type nat hook postrouting priority srcnat;
//	    ip saddr 127.0.0.0/8 ip daddr CIDR masquerade                  # hostPort reached through 127.0.0.1
//	    ip saddr CIDR ip daddr CIDR ct status dnat masquerade           # pod → hostPort of a pod (itself too)
//	    ip saddr CIDR ip daddr != CIDR masquerade                      # outbound, with Config.Masquerade
//	  }
//	}
//
// The "fib daddr type local" guard makes hostPorts answer only on the host's own addresses,
// never on traffic the host forwards. A table of our own keeps podrun's rules apart from the
// host's firewall (and `podrun system reset` deletes it whole).
type nft struct {
	table      string
	subnet     *net.IPNet
	masquerade bool
}

const hostPortsChain = "hostports"

// ipsDstNAT is IPS_DST_NAT of the kernel's enum ip_conntrack_status (bit 5): the connection
// was destination-NATed, i.e. reached a pod through a hostPort.
const ipsDstNAT = 1 << 5

func (n *nft) tableRef() *nftables.Table {
	return &nftables.Table{Name: n.table, Family: nftables.TableFamilyIPv4}
}

func (n *nft) chainRef(name string) *nftables.Chain {
	return &nftables.Chain{Name: name, Table: n.tableRef()}
}

// ensureTable (re)writes the table's base chains and their rules in one transaction. The
// hostports chain is created if missing but never flushed: it holds the mappings of running
// pods, which must survive a daemon restart.
func (n *nft) ensureTable() error {
	c, err := nftables.New()
	if err != nil {
		return err
	}
	t := c.AddTable(n.tableRef())
	base := func(name string, hook *nftables.ChainHook, prio *nftables.ChainPriority) *nftables.Chain {
		ch := c.AddChain(&nftables.Chain{Name: name, Table: t, Type: nftables.ChainTypeNAT, Hooknum: hook, Priority: prio})
		c.FlushChain(ch)
		return ch
	}
	pre := base("prerouting", nftables.ChainHookPrerouting, nftables.ChainPriorityNATDest)
	out := base("output", nftables.ChainHookOutput, nftables.ChainPriorityNATDest)
	post := base("postrouting", nftables.ChainHookPostrouting, nftables.ChainPriorityNATSource)
	c.AddChain(&nftables.Chain{Name: hostPortsChain, Table: t})

	toHostPorts := []expr.Any{
		&expr.Fib{Register: 1, FlagDADDR: true, ResultADDRTYPE: true},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(unix.RTN_LOCAL)},
		&expr.Verdict{Kind: expr.VerdictJump, Chain: hostPortsChain},
	}
	c.AddRule(&nftables.Rule{Table: t, Chain: pre, Exprs: toHostPorts})
	c.AddRule(&nftables.Rule{Table: t, Chain: out, Exprs: toHostPorts})

	loopback := &net.IPNet{IP: net.IPv4(127, 0, 0, 0).To4(), Mask: net.CIDRMask(8, 32)}
	var rules [][]expr.Any
	rules = append(rules, concat(
		matchNet(12, loopback, true),
		matchNet(16, n.subnet, true),
		[]expr.Any{&expr.Masq{}},
	))
	rules = append(rules, concat(
		matchNet(12, n.subnet, true),
		matchNet(16, n.subnet, true),
		[]expr.Any{
			&expr.Ct{Register: 1, Key: expr.CtKeySTATUS},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
				Mask: binaryutil.NativeEndian.PutUint32(ipsDstNAT), Xor: make([]byte, 4)},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
			&expr.Masq{},
		},
	))
	if n.masquerade {
		rules = append(rules, concat(
			matchNet(12, n.subnet, true),
			matchNet(16, n.subnet, false),
			[]expr.Any{&expr.Masq{}},
		))
	}
	for _, r := range rules {
		c.AddRule(&nftables.Rule{Table: t, Chain: post, Exprs: r})
	}
	return c.Flush()
}

func concat(parts ...[]expr.Any) []expr.Any {
	var out []expr.Any
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// matchNet matches the IPv4 source (offset 12) or destination (offset 16) against a subnet.
func matchNet(offset uint32, subnet *net.IPNet, in bool) []expr.Any {
	op := expr.CmpOpEq
	if !in {
		op = expr.CmpOpNeq
	}
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: 4},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: []byte(subnet.Mask), Xor: make([]byte, 4)},
		&expr.Cmp{Op: op, Register: 1, Data: subnet.IP.To4()},
	}
}

func l4proto(p v1.Protocol) byte {
	switch p {
	case v1.ProtocolUDP:
		return unix.IPPROTO_UDP
	case v1.ProtocolSCTP:
		return unix.IPPROTO_SCTP
	default:
		return unix.IPPROTO_TCP
	}
}

func hostPortExprs(p portMapping, podIP net.IP) []expr.Any {
	var e []expr.Any
	if p.HostIP != nil {
		e = append(e,
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: p.HostIP.To4()},
		)
	}
	return append(e,
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{l4proto(p.Protocol)}},
		// The destination port is at offset 2 of the TCP, UDP and SCTP headers alike.
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(uint16(p.HostPort))},
		&expr.Immediate{Register: 1, Data: podIP.To4()},
		&expr.Immediate{Register: 2, Data: binaryutil.BigEndian.PutUint16(uint16(p.ContainerPort))},
		&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegProtoMin: 2, Specified: true},
	)
}

// tableExists tells whether the table is there (it is not before the first Setup, and after
// Reset).
func (n *nft) tableExists(c *nftables.Conn) (bool, error) {
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return false, fmt.Errorf("list nftables tables: %w", err)
	}
	for _, t := range tables {
		if t.Name == n.table {
			return true, nil
		}
	}
	return false, nil
}

// listHostPorts reads the hostPort rules of every sandbox from the kernel: the kernel is the
// source of truth, so the check holds across daemon restarts.
func (n *nft) listHostPorts() ([]*hostPortRule, error) {
	c, err := nftables.New()
	if err != nil {
		return nil, err
	}
	if ok, err := n.tableExists(c); err != nil || !ok {
		return nil, err
	}
	rules, err := c.GetRules(n.tableRef(), n.chainRef(hostPortsChain))
	if err != nil {
		return nil, fmt.Errorf("list hostPort rules: %w", err)
	}
	var out []*hostPortRule
	for _, r := range rules {
		comment, ok := userdata.GetString(r.UserData, userdata.TypeComment)
		if !ok {
			continue
		}
		id, pod, pm, ok := parseRuleComment(comment)
		if !ok {
			continue
		}
		out = append(out, &hostPortRule{handle: r.Handle, sandboxID: id, pod: pod, mapping: pm})
	}
	return out, nil
}

// replaceSandboxRules deletes the sandbox's old rules and adds the new ones in one
// transaction.
func (n *nft) replaceSandboxRules(sandboxID, pod string, podIP net.IP, ports []portMapping, old []*hostPortRule) error {
	c, err := nftables.New()
	if err != nil {
		return err
	}
	t, ch := n.tableRef(), n.chainRef(hostPortsChain)
	for _, r := range old {
		if err := c.DelRule(&nftables.Rule{Table: t, Chain: ch, Handle: r.handle}); err != nil {
			return err
		}
	}
	for _, p := range ports {
		c.AddRule(&nftables.Rule{
			Table:    t,
			Chain:    ch,
			Exprs:    hostPortExprs(p, podIP),
			UserData: userdata.AppendString(nil, userdata.TypeComment, ruleComment(sandboxID, pod, p)),
		})
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("write hostPort rules: %w", err)
	}
	return nil
}

// deleteSandboxRules deletes the sandbox's hostPort rules (none is not an error) and tells
// whether one of them was UDP.
func (n *nft) deleteSandboxRules(sandboxID string) (hadUDP bool, err error) {
	all, err := n.listHostPorts()
	if err != nil {
		return false, err
	}
	var mine []*hostPortRule
	for _, r := range all {
		if r.sandboxID == sandboxID {
			mine = append(mine, r)
			hadUDP = hadUDP || r.mapping.Protocol == v1.ProtocolUDP
		}
	}
	if len(mine) == 0 {
		return false, nil
	}
	return hadUDP, n.replaceSandboxRules(sandboxID, "", nil, nil, mine)
}

func (n *nft) deleteTable() error {
	c, err := nftables.New()
	if err != nil {
		return err
	}
	if ok, err := n.tableExists(c); err != nil || !ok {
		return err
	}
	c.DelTable(n.tableRef())
	return c.Flush()
}
