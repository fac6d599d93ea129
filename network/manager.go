package network

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	v1 "k8s.io/api/core/v1"
)

// Defaults of Config.
const (
	DefaultBridge   = "podrun0"
	DefaultPodCIDR  = "10.88.0.0/16"
	DefaultTable    = "podrun"
	DefaultStateDir = "/run/podrun"

	// podInterface is the name of the pod end of the veth pair, as every CNI plugin names it.
	podInterface = "eth0"
)

// Config configures the pod network of one host.
type Config struct {
	// Bridge is the host bridge the pods' veths are attached to (default "podrun0").
	Bridge string
	// PodCIDR is the IPv4 range pods get addresses from (default "10.88.0.0/16"). The first
	// address is the gateway, held by the bridge.
	PodCIDR string
	// StateDir holds the IPAM state, <StateDir>/ipam/<cidr>/<ip> files each naming the sandbox
	// that holds the address. Put it on tmpfs (the daemon's --state): the addresses must be
	// forgotten at reboot, like the network namespaces that used them.
	StateDir string
	// Masquerade adds an SNAT (masquerade) rule for pod traffic leaving the CIDR, so pods reach
	// the outside through the host's address. Users want it; tests keep it off.
	Masquerade bool
	// Table is the name of podrun's nftables table (family ip), default "podrun".
	Table  string
	Logger *slog.Logger
}

// Result is what Setup gave the pod.
type Result struct {
	IP      net.IP
	Gateway net.IP
	// Interface is the name of the host end of the pod's veth pair.
	Interface string
}

// Manager gives pod network namespaces their network. It is safe for concurrent use, and
// several Managers (processes) on the same Config share state safely through the IPAM lock.
type Manager struct {
	cfg     Config
	log     *slog.Logger
	subnet  *net.IPNet
	gateway net.IP
	ipam    *ipam
	nft     *nft

	// mu guards the creation of the bridge and the table, and hostPort rule changes (so that a
	// conflict check and the insertion of the rules are one atomic step).
	mu sync.Mutex
	// tableReady is set once this Manager has (re)written the static chains of its table.
	tableReady bool
	mtu        int
}

// New validates cfg, fills in its defaults and returns a Manager. It changes nothing on the
// host: the bridge and the table are made by the first Setup.
func New(cfg Config) (*Manager, error) {
	if cfg.Bridge == "" {
		cfg.Bridge = DefaultBridge
	}
	if cfg.PodCIDR == "" {
		cfg.PodCIDR = DefaultPodCIDR
	}
	if cfg.Table == "" {
		cfg.Table = DefaultTable
	}
	if cfg.StateDir == "" {
		cfg.StateDir = DefaultStateDir
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	// IFNAMSIZ is 16 with the terminating NUL.
	if len(cfg.Bridge) > 15 || strings.ContainsAny(cfg.Bridge, "/ \t\n:") {
		return nil, fmt.Errorf("network config: invalid bridge name %q", cfg.Bridge)
	}
	if len(cfg.Table) > 255 || strings.ContainsAny(cfg.Table, " \t\n") {
		return nil, fmt.Errorf("network config: invalid nftables table name %q", cfg.Table)
	}
	_, subnet, err := net.ParseCIDR(cfg.PodCIDR)
	if err != nil {
		return nil, fmt.Errorf("network config: pod CIDR: %w", err)
	}
	if subnet.IP.To4() == nil {
		return nil, fmt.Errorf("network config: pod CIDR %s: only IPv4 is supported", cfg.PodCIDR)
	}
	subnet.IP = subnet.IP.To4()
	if ones, _ := subnet.Mask.Size(); ones > 29 {
		return nil, fmt.Errorf("network config: pod CIDR %s is too small (at most /29)", cfg.PodCIDR)
	}
	a, err := newIPAM(filepath.Join(cfg.StateDir, "ipam"), subnet)
	if err != nil {
		return nil, err
	}
	return &Manager{
		cfg:     cfg,
		log:     cfg.Logger,
		subnet:  subnet,
		gateway: a.gateway(),
		ipam:    a,
		nft:     &nft{table: cfg.Table, subnet: subnet, masquerade: cfg.Masquerade},
	}, nil
}

// Setup gives the network namespace pinned at netnsPath an eth0 with an address of the pod
// CIDR, a default route through the gateway, the MTU of the host's default route and lo up. It
// makes the bridge and the nftables table when they are missing and maps the pod's hostPorts.
// Calling it again for the same sandboxID keeps the address (a re-adopted pod keeps its IP)
// and repairs what is missing. On error it undoes what it did. A hostNetwork pod gets the host's
// IP and nothing else (netnsPath is then ignored).
func (m *Manager) Setup(ctx context.Context, sandboxID, netnsPath string, pod *v1.Pod) (res *Result, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if sandboxID == "" || strings.ContainsAny(sandboxID, "/ \t\n") {
		return nil, fmt.Errorf("network setup: invalid sandbox ID %q", sandboxID)
	}
	wrap := func(err error) error { return fmt.Errorf("network setup of sandbox %s: %w", sandboxID, err) }
	if pod != nil && pod.Spec.HostNetwork {
		// The pod uses the host's namespace: nothing to make, and its IP is the host's.
		ip, err := HostIP()
		if err != nil {
			return nil, wrap(err)
		}
		return &Result{IP: ip}, nil
	}

	ports, err := hostPorts(pod)
	if err != nil {
		return nil, wrap(err)
	}
	br, err := m.ensureInfra()
	if err != nil {
		return nil, wrap(err)
	}
	// Refuse a taken hostPort before touching anything; setHostPorts checks again, atomically with the insertion.
	if len(ports) > 0 {
		if err := m.checkHostPorts(sandboxID, ports); err != nil {
			return nil, wrap(err)
		}
	}

	ns, err := netns.GetFromPath(netnsPath)
	if err != nil {
		return nil, wrap(fmt.Errorf("open netns %s: %w", netnsPath, err))
	}
	defer ns.Close()

	var undo []func()
	defer func() {
		if err != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
		}
	}()

	ip, fresh, err := m.ipam.allocate(sandboxID)
	if err != nil {
		return nil, wrap(err)
	}
	if fresh {
		undo = append(undo, func() {
			if err := m.ipam.release(sandboxID); err != nil {
				m.log.Warn("network setup undo: release IP", "sandbox", sandboxID, "err", err)
			}
		})
	}

	hostVeth := vethName(sandboxID)
	made, err := m.ensureVeth(br, ns, sandboxID, hostVeth, ip)
	if err != nil {
		return nil, wrap(err)
	}
	if made {
		undo = append(undo, func() { m.deleteVeth(sandboxID, hostVeth) })
	}

	if err := m.setHostPorts(sandboxID, pod, ip, ports); err != nil {
		return nil, wrap(err)
	}
	m.clearUDPHostPortFlows(ports)
	m.log.Debug("pod network set up", "sandbox", sandboxID, "ip", ip, "veth", hostVeth, "hostPorts", len(ports))
	return &Result{IP: ip, Gateway: m.gateway, Interface: hostVeth}, nil
}

// Teardown removes the sandbox's veth pair and hostPort rules and releases its address. It is
// idempotent and works when the network namespace is already gone (the kernel then deleted the
// veth pair with it). netnsPath may be "".
func (m *Manager) Teardown(ctx context.Context, sandboxID, netnsPath string) error {
	if sandboxID == "" {
		return errors.New("network teardown: empty sandbox ID")
	}
	var errs []error
	m.mu.Lock()
	hadUDP, err := m.nft.deleteSandboxRules(sandboxID)
	if err != nil {
		errs = append(errs, fmt.Errorf("hostPort rules: %w", err))
	}
	m.mu.Unlock()
	if hadUDP {
		if alloc, err := m.ipam.list(); err == nil && alloc[sandboxID] != nil {
			m.clearUDPPodFlows(alloc[sandboxID])
		}
	}
	if err := m.deleteVeth(sandboxID, vethName(sandboxID)); err != nil {
		errs = append(errs, err)
	}
	if err := m.ipam.release(sandboxID); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("network teardown of sandbox %s: %w", sandboxID, err)
	}
	return nil
}

// Allocated maps every sandbox holding an address of the pod CIDR to its address.
func (m *Manager) Allocated() (map[string]net.IP, error) {
	return m.ipam.list()
}

// Reset removes the bridge (and any veth still attached to it), the nftables table and all
// IPAM state: `podrun system reset`. Pods still running lose their network.
func (m *Manager) Reset(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var errs []error
	if err := m.nft.deleteTable(); err != nil {
		errs = append(errs, fmt.Errorf("delete nftables table %s: %w", m.cfg.Table, err))
	}
	m.tableReady = false
	if br, err := netlink.LinkByName(m.cfg.Bridge); err == nil {
		links, err := netlink.LinkList()
		if err != nil {
			errs = append(errs, fmt.Errorf("list links: %w", err))
		}
		for _, l := range links {
			if l.Attrs().MasterIndex == br.Attrs().Index && l.Type() == "veth" {
				if err := netlink.LinkDel(l); err != nil && !isNotFound(err) {
					errs = append(errs, fmt.Errorf("delete veth %s: %w", l.Attrs().Name, err))
				}
			}
		}
		if err := netlink.LinkDel(br); err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("delete bridge %s: %w", m.cfg.Bridge, err))
		}
	} else if !isNotFound(err) {
		errs = append(errs, fmt.Errorf("find bridge %s: %w", m.cfg.Bridge, err))
	}
	if err := os.RemoveAll(filepath.Join(m.cfg.StateDir, "ipam")); err != nil {
		errs = append(errs, fmt.Errorf("remove IPAM state: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("network reset: %w", err)
	}
	return nil
}

// ensureInfra makes the bridge and the table when missing and returns the bridge.
func (m *Manager) ensureInfra() (netlink.Link, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	br, err := m.ensureBridge()
	if err != nil {
		return nil, err
	}
	if m.tableReady {
		// A firewall reload (`nft flush ruleset`, nftables.service restart) deletes our table
		// behind our back: make it again rather than fail to add rules to it.
		c, err := nftables.New()
		if err != nil {
			return nil, err
		}
		if ok, err := m.nft.tableExists(c); err != nil {
			return nil, err
		} else if !ok {
			m.log.Warn("nftables table disappeared; recreating it (hostPorts of running pods are lost)", "table", m.cfg.Table)
			m.tableReady = false
		}
	}
	if !m.tableReady {
		if err := m.nft.ensureTable(); err != nil {
			return nil, fmt.Errorf("nftables table %s: %w", m.cfg.Table, err)
		}
		m.tableReady = true
	}
	return br, nil
}

func (m *Manager) checkHostPorts(sandboxID string, ports []portMapping) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	existing, err := m.nft.listHostPorts()
	if err != nil {
		return err
	}
	return conflict(sandboxID, ports, existing)
}

// setHostPorts replaces the sandbox's hostPort rules with ports, after checking (under the
// lock, atomically with the insertion) that no other sandbox holds one of them.
func (m *Manager) setHostPorts(sandboxID string, pod *v1.Pod, ip net.IP, ports []portMapping) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	existing, err := m.nft.listHostPorts()
	if err != nil {
		return err
	}
	if len(ports) > 0 {
		if err := conflict(sandboxID, ports, existing); err != nil {
			return err
		}
	}
	var mine []*hostPortRule
	for _, r := range existing {
		if r.sandboxID == sandboxID {
			mine = append(mine, r)
		}
	}
	if len(mine) == 0 && len(ports) == 0 {
		return nil
	}
	return m.nft.replaceSandboxRules(sandboxID, podName(pod), ip, ports, mine)
}

func podName(pod *v1.Pod) string {
	if pod == nil {
		return ""
	}
	return pod.Namespace + "/" + pod.Name
}

func isNotFound(err error) bool {
	var lnf netlink.LinkNotFoundError
	return errors.As(err, &lnf) || errors.Is(err, os.ErrNotExist)
}
