package probe

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestNetnsDialContextErrors(t *testing.T) {
	ctx := context.Background()
	cases := []struct{ path, network, addr, want string }{
		{"/nonexistent/netns", "tcp", "127.0.0.1:80", "open netns"},
		{"/proc/self/ns/net", "udp", "127.0.0.1:80", `network "udp" not supported`},
		{"/proc/self/ns/net", "tcp", "example.com:80", "ParseAddr"},
	}
	for _, c := range cases {
		_, err := NetnsDialContext(c.path)(ctx, c.network, c.addr)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %s %s: err %v, want containing %q", c.path, c.network, c.addr, err, c.want)
		}
	}
}

// newTestNetns makes a network namespace with loopback up, owned by a goroutine locked on its
// thread, and returns its path and a listener on 127.0.0.1 inside it. The thread is never
// unlocked: when the goroutine ends at cleanup, Go destroys the thread and the namespace
// goes with it.
func newTestNetns(t testing.TB) (string, net.Listener) {
	t.Helper()
	type result struct {
		path string
		l    net.Listener
		err  error
	}
	ready := make(chan result)
	quit := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		ns, err := netns.New()
		if err != nil {
			ready <- result{err: fmt.Errorf("new netns: %w", err)}
			return
		}
		defer ns.Close()
		lo, err := netlink.LinkByName("lo")
		if err == nil {
			err = netlink.LinkSetUp(lo)
		}
		if err != nil {
			ready <- result{err: fmt.Errorf("lo up: %w", err)}
			return
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			ready <- result{err: err}
			return
		}
		ready <- result{path: fmt.Sprintf("/proc/%d/task/%d/ns/net", os.Getpid(), unix.Gettid()), l: l}
		<-quit
		l.Close()
	}()
	r := <-ready
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Cleanup(func() { close(quit) })
	return r.path, r.l
}

func netnsInode(t *testing.T) uint64 {
	var st unix.Stat_t
	if err := unix.Stat("/proc/thread-self/ns/net", &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

func TestNetnsDialContext(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	path, l := newTestNetns(t)
	port := l.Addr().(*net.TCPAddr).Port
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			fmt.Fprintln(c, "inside")
			c.Close()
		}
	}()
	dial := NetnsDialContext(path)

	runtime.LockOSThread()
	before := netnsInode(t)
	for i := range 20 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		c, err := dial(ctx, "tcp", fmt.Sprintf("127.0.0.1:%d", port))
		cancel()
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		line, _ := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if line != "inside\n" {
			t.Fatalf("read %q", line)
		}
	}
	if after := netnsInode(t); after != before {
		t.Fatalf("the caller's thread changed netns: %d → %d", before, after)
	}
	runtime.UnlockOSThread()

	// A port open on the host is closed in the pod: the socket really is in the netns.
	host, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	_, err = dial(context.Background(), "tcp", host.Addr().String())
	if want := "dial tcp " + host.Addr().String() + ": connect: connection refused"; err == nil || err.Error() != want {
		t.Fatalf("dial of a host-only port from the netns: %v", err)
	}
	// Only loopback exists inside: other addresses are unreachable, at once.
	if _, err := dial(context.Background(), "tcp", "10.255.0.1:80"); err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("dial 10.255.0.1: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := dial(ctx, "tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
		t.Fatal("dial with a cancelled context succeeded")
	}

	// A listener with a full backlog drops SYNs: connect hangs until the deadline.
	mute := muteListener(t, path)
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; ; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		start := time.Now()
		c, err := dial(ctx, "tcp", fmt.Sprintf("127.0.0.1:%d", mute))
		cancel()
		if err == nil {
			conns = append(conns, c)
			if i > 10 {
				t.Fatal("backlog never filled")
			}
			continue
		}
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
			t.Fatalf("dial to a full backlog: %v after %v", err, time.Since(start))
		}
		break
	}
}

// listenInNetns returns a TCP listener on 127.0.0.1 inside the netns at path.
func listenInNetns(t *testing.T, path string) net.Listener {
	t.Helper()
	type result struct {
		l   net.Listener
		err error
	}
	ch := make(chan result)
	go func() {
		runtime.LockOSThread() // never unlocked: this thread changes netns
		ns, err := netns.GetFromPath(path)
		if err == nil {
			err = netns.Set(ns)
			ns.Close()
		}
		if err != nil {
			ch <- result{err: err}
			return
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		ch <- result{l, err}
	}()
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Cleanup(func() { r.l.Close() })
	return r.l
}

// muteListener listens with a backlog of 0 inside the netns and never accepts.
func muteListener(t *testing.T, path string) int {
	t.Helper()
	ch := make(chan int)
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: this thread changes netns
		ns, err := netns.GetFromPath(path)
		if err == nil {
			err = netns.Set(ns)
			ns.Close()
		}
		if err != nil {
			errc <- err
			return
		}
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err == nil {
			err = unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}})
		}
		if err == nil {
			err = unix.Listen(fd, 0)
		}
		var sa unix.Sockaddr
		if err == nil {
			sa, err = unix.Getsockname(fd)
		}
		if err != nil {
			errc <- err
			return
		}
		t.Cleanup(func() { unix.Close(fd) })
		ch <- sa.(*unix.SockaddrInet4).Port
	}()
	select {
	case p := <-ch:
		return p
	case err := <-errc:
		t.Fatal(err)
	}
	return 0
}

// TestProbesThroughNetns runs httpGet and tcpSocket probes at a server that exists only
// inside a pod-like netns, as the pod manager does until networking lands.
func TestProbesThroughNetns(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	path, l := newTestNetns(t)
	port := l.Addr().(*net.TCPAddr).Port
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "pod says hi") })}
	go srv.Serve(l)
	defer srv.Close()

	tgt := &Target{Container: &v1.Container{Name: "web"}, PodIP: "127.0.0.1", Dial: NetnsDialContext(path)}
	pr := &Prober{}
	hp := &v1.Probe{ProbeHandler: v1.ProbeHandler{HTTPGet: &v1.HTTPGetAction{Path: "/", Port: intstr.FromInt(port)}}}
	if r, out, err := pr.Probe(context.Background(), hp, tgt); r != Success || out != "pod says hi" {
		t.Fatalf("httpGet through netns: %v %q %v", r, out, err)
	}
	tp := &v1.Probe{ProbeHandler: v1.ProbeHandler{TCPSocket: &v1.TCPSocketAction{Port: intstr.FromInt(port)}}}
	if r, out, err := pr.Probe(context.Background(), tp, tgt); r != Success {
		t.Fatalf("tcpSocket through netns: %v %q %v", r, out, err)
	}
	gl := listenInNetns(t, path)
	gs := grpc.NewServer()
	hs := health.NewServer()
	healthpb.RegisterHealthServer(gs, hs)
	go gs.Serve(gl)
	defer gs.Stop()
	gp := &v1.Probe{ProbeHandler: v1.ProbeHandler{GRPC: &v1.GRPCAction{Port: int32(gl.Addr().(*net.TCPAddr).Port)}}}
	if r, out, err := pr.Probe(context.Background(), gp, tgt); r != Success {
		t.Fatalf("grpc through netns: %v %q %v", r, out, err)
	}
	// The same probe from the host finds nothing there.
	if r, _, _ := pr.Probe(context.Background(), tp, &Target{Container: tgt.Container, PodIP: "127.0.0.1"}); r != Failure && isPortFree(port) {
		t.Fatalf("tcpSocket from the host: %v", r)
	}
}

func isPortFree(port int) bool {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// BenchmarkNetnsTCPProbe is a tcpSocket probe into a netns (thread lock + two setns + connect).
func BenchmarkNetnsTCPProbe(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root")
	}
	path, l := newTestNetns(b)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	dial := NetnsDialContext(path)
	addr := l.Addr().String()
	b.ReportAllocs()
	start := cpuTime(b)
	for b.Loop() {
		if r, out, _ := DialTCP(context.Background(), addr, time.Second, dial); r != Success {
			b.Fatal(r, out)
		}
	}
	reportCPU(b, start)
}
