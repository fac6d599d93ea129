package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/images"
	"github.com/podrun/podrun/network"
	"github.com/podrun/podrun/pod"
	"github.com/podrun/podrun/runtime"
)

type daemonOptions struct {
	root           string
	state          string
	logDir         string
	cgroupRoot     string
	socketGroup    string
	backoffBase    time.Duration
	backoffMax     time.Duration
	seccompDefault bool
	seccompRoot    string
	unsafeSysctls  []string
	logLevel       string
	logFormat      string
	net            networkOptions
}

// networkOptions are the pod network's flags, shared by `daemon` and `system reset`.
type networkOptions struct {
	mode       string // "bridge" or "none"
	bridge     string
	podCIDR    string
	table      string
	masquerade bool
}

func (n *networkOptions) addFlags(f *pflag.FlagSet, getenv func(string) string) {
	f.StringVar(&n.mode, "network", envOr(getenv, "PODRUN_NETWORK", "bridge"), "pod network: bridge (a veth on --bridge, an address from --pod-cidr) or none (loopback only) (env PODRUN_NETWORK)")
	f.StringVar(&n.bridge, "bridge", envOr(getenv, "PODRUN_BRIDGE", network.DefaultBridge), "the host bridge of the pods (env PODRUN_BRIDGE)")
	f.StringVar(&n.podCIDR, "pod-cidr", envOr(getenv, "PODRUN_POD_CIDR", network.DefaultPodCIDR), "the IPv4 range pod addresses come from; the first is the gateway on the bridge (env PODRUN_POD_CIDR)")
	f.StringVar(&n.table, "nft-table", envOr(getenv, "PODRUN_NFT_TABLE", network.DefaultTable), "podrun's nftables table (hostPorts, masquerade) (env PODRUN_NFT_TABLE)")
	f.BoolVar(&n.masquerade, "masquerade", envOr(getenv, "PODRUN_MASQUERADE", "true") == "true", "masquerade pod traffic leaving --pod-cidr (env PODRUN_MASQUERADE)")
}

// manager returns the pod network, or nil with --network=none.
func (n *networkOptions) manager(state string, log *slog.Logger) (*network.Manager, error) {
	switch n.mode {
	case "none":
		return nil, nil
	case "bridge":
	default:
		return nil, fmt.Errorf("invalid --network %q: use bridge or none", n.mode)
	}
	m, err := network.New(network.Config{
		Bridge: n.bridge, PodCIDR: n.podCIDR, StateDir: state, Masquerade: n.masquerade,
		Table: n.table, Logger: log,
	})
	if err != nil {
		return nil, fmt.Errorf("pod network: %w", err)
	}
	return m, nil
}

func (c *cli) newDaemonCmd() *cobra.Command {
	var o daemonOptions
	cmd := &cobra.Command{
		Use:   "daemon",
		Short: "Run the podrun daemon (the pod manager and its API on --socket)",
		Long: "The daemon serves the podrun API on --socket and runs the pods. On SIGTERM or SIGINT it\n" +
			"stops serving and exits, leaving the pods running: a restarted daemon re-adopts them.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.runDaemon(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.root, "root", envOr(c.getenv, "PODRUN_ROOT", "/var/lib/podrun"), "persistent state: pods, images, snapshots (env PODRUN_ROOT)")
	f.StringVar(&o.state, "state", envOr(c.getenv, "PODRUN_STATE", "/run/podrun"), "runtime state: libcontainer, sandboxes, pinned namespaces (env PODRUN_STATE)")
	f.StringVar(&o.logDir, "log-dir", envOr(c.getenv, "PODRUN_LOG_DIR", "/var/log/pods"), "root of the container log files (env PODRUN_LOG_DIR)")
	f.StringVar(&o.cgroupRoot, "cgroup-root", envOr(c.getenv, "PODRUN_CGROUP_ROOT", "podrun"), "the cgroup under which pod cgroups are made (env PODRUN_CGROUP_ROOT)")
	f.StringVar(&o.socketGroup, "socket-group", "", "group owning the socket (mode 0660); default root")
	f.DurationVar(&o.backoffBase, "backoff-base", 10*time.Second, "first restart back-off delay (doubles each crash)")
	f.DurationVar(&o.backoffMax, "backoff-max", 5*time.Minute, "longest restart back-off delay")
	f.BoolVar(&o.seccompDefault, "seccomp-default", false, "use the RuntimeDefault seccomp profile for containers that name none")
	f.StringVar(&o.seccompRoot, "seccomp-profile-root", "", "directory of Localhost seccomp profiles (localhostProfile is relative to it); default <root>/seccomp")
	f.StringSliceVar(&o.unsafeSysctls, "allowed-unsafe-sysctls", nil, "comma-separated unsafe sysctls or patterns (\"net.core.*\") pods may set besides the safe set")
	f.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	f.StringVar(&o.logFormat, "log-format", "text", "text or json")
	o.net.addFlags(f, c.getenv)
	return cmd
}

func envOr(getenv func(string) string, key, def string) string {
	if getenv != nil {
		if v := getenv(key); v != "" {
			return v
		}
	}
	return def
}

func newLogger(o daemonOptions, c *cli) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return nil, fmt.Errorf("invalid --log-level %q: use debug, info, warn or error", o.logLevel)
	}
	hopts := &slog.HandlerOptions{Level: level}
	switch o.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(c.errOut, hopts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(c.errOut, hopts)), nil
	}
	return nil, fmt.Errorf("invalid --log-format %q: use text or json", o.logFormat)
}

func (c *cli) runDaemon(ctx context.Context, o daemonOptions) error {
	log, err := newLogger(o, c)
	if err != nil {
		return err
	}
	slog.SetDefault(log)
	if err := closeOnExecInherited(); err != nil {
		log.Warn("inherited descriptors stay open for the monitors", "err", err)
	}
	// The socket is bound with the umask's mode before Serve narrows it to 0660: with a umask
	// of 0 anyone could connect in between. Adding 022 (never removing bits) closes that
	// window; it runs before any goroutine creates files.
	syscall.Umask(syscall.Umask(0) | 0o022)
	// Before anything touches the pods: a second daemon would re-adopt them under the first.
	if api.Alive(c.socket) {
		return fmt.Errorf("another podrun daemon is already answering on %s", c.socket)
	}
	if o.backoffBase <= 0 || o.backoffMax < o.backoffBase {
		return fmt.Errorf("invalid back-off: --backoff-base must be > 0 and <= --backoff-max")
	}
	checkOOMScoreAdj(log)

	store, err := images.Open(o.root)
	if err != nil {
		return err
	}
	netw, err := o.net.manager(o.state, log.With("component", "network"))
	if err != nil {
		return err
	}
	rcfg := runtime.Config{
		StateDir: o.state, RootDir: o.root, CgroupRoot: o.cgroupRoot, Rootfs: store,
		SeccompDefault: o.seccompDefault, Logger: log.With("component", "runtime"),
		SeccompProfileRoot: o.seccompRoot, AllowedUnsafeSysctls: o.unsafeSysctls,
	}
	if netw != nil {
		// Assigned only when set: a nil *network.Manager in the interface would not be nil.
		rcfg.Network = netw
	}
	rt, err := runtime.New(rcfg)
	if err != nil {
		return err
	}
	defer rt.Close()
	node, _ := os.Hostname()
	mgr, err := pod.NewManager(pod.Config{
		Root: o.root, LogDir: o.logDir, NodeName: strings.ToLower(node), HostIP: hostIP(),
		Runtime: rt, Images: store, Logger: log.With("component", "pod"),
		BackoffBase: o.backoffBase, BackoffMax: o.backoffMax, AllowedUnsafeSysctls: o.unsafeSysctls,
	})
	if err != nil {
		return err
	}
	if err := mgr.Start(ctx); err != nil {
		return fmt.Errorf("start the pod manager: %w", err)
	}
	log.Info("podrun daemon started", "version", api.Version, "root", o.root, "state", o.state, "socket", c.socket, "pid", os.Getpid())
	serveErr := api.Serve(ctx, c.socket, o.socketGroup, api.NewServer(mgr, store, log.With("component", "api")), log)
	// Pods keep running: only the workers stop. A restarted daemon re-adopts the pods.
	mgr.Shutdown()
	if serveErr != nil {
		return serveErr
	}
	log.Info("podrun daemon stopped; pods left running")
	return nil
}

// capSysResource is CAP_SYS_RESOURCE's bit in /proc/<pid>/status CapEff.
const capSysResource = 24

// checkOOMScoreAdj lowers the daemon's oom_score_adj as the kubelet does (-999), so that the
// OOM killer picks containers first; without CAP_SYS_RESOURCE the kernel refuses, and the
// runtime must then clamp container values to the daemon's own (lower is not allowed).
func checkOOMScoreAdj(log *slog.Logger) {
	hasCap, err := hasCapability(capSysResource)
	if err != nil {
		log.Warn("cannot read capabilities", "err", err)
	}
	werr := os.WriteFile("/proc/self/oom_score_adj", []byte("-999"), 0)
	if werr == nil && hasCap {
		return
	}
	own := "unknown"
	if b, err := os.ReadFile("/proc/self/oom_score_adj"); err == nil {
		own = strings.TrimSpace(string(b))
	}
	reason := "lacks CAP_SYS_RESOURCE"
	if werr != nil {
		reason = werr.Error()
	}
	log.Warn("cannot lower oom_score_adj: podrun will clamp container oom_score_adj to its own",
		"reason", reason, "oom_score_adj", own)
}

func hasCapability(bit uint) (bool, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapEff:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				return false, fmt.Errorf("parse CapEff %q: %w", v, err)
			}
			return n&(1<<bit) != 0, nil
		}
	}
	return false, errors.New("no CapEff in /proc/self/status")
}

// hostIP is status.hostIP: the source address of the default route (else the first
// non-loopback IPv4 address), as the kubelet picks the node's address.
func hostIP() string {
	ip, err := network.HostIP()
	if err != nil || ip == nil {
		return ""
	}
	return ip.String()
}

// closeOnExecInherited marks every descriptor above stderr close-on-exec: whatever started the
// daemon may have left some open (make's jobserver pipe was seen in monitors), and every
// monitor, helper and exec server would keep them for the life of its pod.
func closeOnExecInherited() error {
	if err := unix.CloseRange(3, math.MaxUint32, unix.CLOSE_RANGE_CLOEXEC); err == nil {
		return nil
	}
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return err
	}
	for _, e := range ents {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			unix.CloseOnExec(fd)
		}
	}
	return nil
}
