package network

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
}

func randHex(n int) string {
	b := make([]byte, (n+1)/2)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)[:n]
}

// newSandboxID returns a random 64-hex ID like the runtime's.
func newSandboxID() string { return randHex(64) }

// newTestManager makes a Manager on a bridge, CIDR, table and state dir of its own, and
// removes all of them at cleanup even when the test failed; it then checks nothing was left.
func newTestManager(t testing.TB) *Manager {
	b := make([]byte, 1)
	_, _ = rand.Read(b)
	return newTestManagerCIDR(t, fmt.Sprintf("10.199.%d.0/24", b[0]))
}

func newTestManagerCIDR(t testing.TB, cidr string) *Manager {
	t.Helper()
	needRoot(t)
	fwd, _ := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	m, err := New(Config{
		Bridge:   "prt" + randHex(4),
		PodCIDR:  cidr,
		StateDir: stateDir(t),
		Table:    "podrun_test_" + randHex(6),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Reset(context.Background()); err != nil {
			t.Errorf("reset: %v", err)
		}
		if _, err := netlink.LinkByName(m.cfg.Bridge); err == nil {
			t.Errorf("bridge %s left after Reset", m.cfg.Bridge)
		}
		if ok, _ := m.nft.tableExists(mustNft(t)); ok {
			t.Errorf("table %s left after Reset", m.cfg.Table)
		}
		if len(fwd) > 0 {
			_ = os.WriteFile("/proc/sys/net/ipv4/ip_forward", fwd, 0o644)
		}
	})
	return m
}

// stateDir is a temp dir on tmpfs when there is one, as the daemon's /run/podrun is: IPAM
// timings then match production rather than the test machine's disk.
func stateDir(t testing.TB) string {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		d, err := os.MkdirTemp("/dev/shm", "podrun-network-test-")
		if err == nil {
			t.Cleanup(func() { os.RemoveAll(d) })
			return d
		}
	}
	return t.TempDir()
}

func mustNft(t testing.TB) *nftables.Conn {
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// newNetns creates a network namespace pinned on a file of the test's temp dir, as the sandbox
// package pins /run/podrun/netns/<id>, and unpins it at cleanup.
func newNetns(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "netns")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		// The goroutine's thread enters the new namespace; if it cannot return to the original
		// one it stays locked and dies with the goroutine, never serving other goroutines.
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			errc <- err
			return
		}
		defer orig.Close()
		ns, err := netns.New()
		if err != nil {
			errc <- err
			return
		}
		err = unix.Mount(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()), path, "", unix.MS_BIND, "")
		ns.Close()
		if serr := netns.Set(orig); serr != nil {
			errc <- fmt.Errorf("return to host netns: %w", serr)
			return
		}
		runtime.UnlockOSThread()
		errc <- err
	}()
	if err := <-errc; err != nil {
		t.Fatalf("create netns: %v", err)
	}
	t.Cleanup(func() { unpinNetns(t, path) })
	return path
}

func unpinNetns(t testing.TB, path string) {
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && err != unix.EINVAL && err != unix.ENOENT {
		t.Errorf("unmount %s: %v", path, err)
	}
	_ = os.Remove(path)
}

// inNetns runs fn on a thread inside the namespace at path. Sockets made by fn stay in that
// namespace after it returns.
func inNetns(path string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			errc <- err
			return
		}
		defer orig.Close()
		ns, err := netns.GetFromPath(path)
		if err != nil {
			errc <- err
			return
		}
		defer ns.Close()
		if err := netns.Set(ns); err != nil {
			errc <- err
			return
		}
		ferr := fn()
		if err := netns.Set(orig); err != nil {
			errc <- fmt.Errorf("return to host netns: %w", err)
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// listen starts a TCP server inside the namespace that answers each connection with
// "hello <tag>\n" and closes it.
func listen(t testing.TB, nsPath string, port int, tag string) {
	t.Helper()
	var ln net.Listener
	if err := inNetns(nsPath, func() (err error) {
		ln, err = net.Listen("tcp4", fmt.Sprintf(":%d", port))
		return err
	}); err != nil {
		t.Fatalf("listen in netns: %v", err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fmt.Fprintf(c, "hello %s\n", tag)
			c.Close()
		}
	}()
}

// udpEcho starts a UDP server inside the namespace that answers "echo <datagram>".
func udpEcho(t testing.TB, nsPath string, port int) {
	t.Helper()
	var uc net.PacketConn
	if err := inNetns(nsPath, func() (err error) {
		uc, err = net.ListenPacket("udp4", fmt.Sprintf(":%d", port))
		return err
	}); err != nil {
		t.Fatalf("listen udp in netns: %v", err)
	}
	t.Cleanup(func() { uc.Close() })
	go func() {
		buf := make([]byte, 64)
		for {
			n, from, err := uc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = uc.WriteTo(append([]byte("echo "), buf[:n]...), from)
		}
	}()
}

// dialHello connects to addr and returns the greeting line.
func dialHello(addr string) (string, error) {
	c, err := net.DialTimeout("tcp4", addr, 3*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", err
	}
	return strings.TrimSpace(line), nil
}

func testPod(name string, ports ...v1.ContainerPort) *v1.Pod {
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec:       v1.PodSpec{Containers: []v1.Container{{Name: "app", Image: "busybox", Ports: ports}}},
	}
}

// leftovers lists what the Manager still holds: veths on its bridge, hostPort rules and
// allocated addresses.
func leftovers(t testing.TB, m *Manager) (veths []string, rules int, ips int) {
	t.Helper()
	br, err := netlink.LinkByName(m.cfg.Bridge)
	if err == nil {
		links, err := netlink.LinkList()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range links {
			if l.Attrs().MasterIndex == br.Attrs().Index {
				veths = append(veths, l.Attrs().Name)
			}
		}
	}
	hp, err := m.nft.listHostPorts()
	if err != nil {
		t.Fatal(err)
	}
	alloc, err := m.Allocated()
	if err != nil {
		t.Fatal(err)
	}
	return veths, len(hp), len(alloc)
}
