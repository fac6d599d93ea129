package network

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	v1 "k8s.io/api/core/v1"
)

func TestSetupGivesEth0AndHostReachesPod(t *testing.T) {
	m := newTestManager(t)
	ctx := context.Background()
	nsPath := newNetns(t)
	id := newSandboxID()

	res, err := m.Setup(ctx, id, nsPath, testPod("web"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Teardown(ctx, id, nsPath) })
	if !m.subnet.Contains(res.IP) || res.IP.Equal(m.gateway) {
		t.Fatalf("IP %s not a host address of %s", res.IP, m.subnet)
	}
	if !res.Gateway.Equal(m.gateway) || res.Interface != "veth"+id[:8] {
		t.Fatalf("result %+v", res)
	}

	// Inside the namespace: eth0 up with the address and the host's MTU, lo up, default route.
	ns, err := netns.GetFromPath(nsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	nsh, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer nsh.Close()
	eth, err := nsh.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	if eth.Attrs().Flags&net.FlagUp == 0 || eth.Attrs().MTU != defaultRouteMTU() {
		t.Errorf("eth0 flags %v mtu %d (want up, %d)", eth.Attrs().Flags, eth.Attrs().MTU, defaultRouteMTU())
	}
	addrs, _ := nsh.AddrList(eth, netlink.FAMILY_V4)
	if len(addrs) != 1 || !addrs[0].IP.Equal(res.IP) {
		t.Errorf("eth0 addresses %v, want %s", addrs, res.IP)
	}
	lo, _ := nsh.LinkByName("lo")
	if lo == nil || lo.Attrs().Flags&net.FlagUp == 0 {
		t.Errorf("lo not up")
	}
	routes, _ := nsh.RouteList(nil, netlink.FAMILY_V4)
	var def bool
	for _, r := range routes {
		def = def || (isDefaultRoute(r) && r.Gw.Equal(m.gateway))
	}
	if !def {
		t.Errorf("no default route via %s: %v", m.gateway, routes)
	}

	// What an operator sees: `nsenter --net=<pinned netns> ip addr show eth0`.
	out, err := exec.Command("nsenter", "--net="+nsPath, "busybox", "ip", "-4", "addr", "show", "eth0").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "inet "+res.IP.String()+"/24") {
		t.Errorf("nsenter ip addr: %v\n%s", err, out)
	}

	// Host → pod over the bridge.
	listen(t, nsPath, 8080, "web")
	if got, err := dialHello(net.JoinHostPort(res.IP.String(), "8080")); err != nil || got != "hello web" {
		t.Fatalf("host → pod: %q, %v", got, err)
	}

	// Setup again (a re-adopted pod): same IP, same veth, still reachable.
	host1, _ := netlink.LinkByName(res.Interface)
	res2, err := m.Setup(ctx, id, nsPath, testPod("web"))
	if err != nil {
		t.Fatal(err)
	}
	host2, _ := netlink.LinkByName(res.Interface)
	if !res2.IP.Equal(res.IP) || host1.Attrs().Index != host2.Attrs().Index {
		t.Fatalf("second Setup changed things: %s→%s, ifindex %d→%d", res.IP, res2.IP, host1.Attrs().Index, host2.Attrs().Index)
	}
	// A new Manager (a restarted daemon) on the same state keeps the IP too.
	m2, err := New(m.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res3, err := m2.Setup(ctx, id, nsPath, testPod("web")); err != nil || !res3.IP.Equal(res.IP) {
		t.Fatalf("restarted manager: %v, %v", res3, err)
	}
	alloc, _ := m.Allocated()
	if len(alloc) != 1 || !alloc[id].Equal(res.IP) {
		t.Fatalf("Allocated = %v", alloc)
	}

	if err := m.Teardown(ctx, id, nsPath); err != nil {
		t.Fatal(err)
	}
	if _, err := netlink.LinkByName(res.Interface); err == nil {
		t.Errorf("veth left after Teardown")
	}
	if _, err := nsh.LinkByName("eth0"); err == nil {
		t.Errorf("eth0 left in netns after Teardown")
	}
	if err := m.Teardown(ctx, id, nsPath); err != nil {
		t.Fatalf("second Teardown: %v", err)
	}
	if veths, rules, ips := leftovers(t, m); len(veths)+rules+ips != 0 {
		t.Fatalf("leftovers: veths %v rules %d ips %d", veths, rules, ips)
	}
}

func TestTeardownAfterNetnsGone(t *testing.T) {
	m := newTestManager(t)
	ctx := context.Background()
	nsPath := newNetns(t)
	id := newSandboxID()
	if _, err := m.Setup(ctx, id, nsPath, testPod("p", v1.ContainerPort{ContainerPort: 80, HostPort: freePort(t)})); err != nil {
		t.Fatal(err)
	}
	unpinNetns(t, nsPath)
	// The kernel destroys the namespace (and the veth pair) asynchronously.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := netlink.LinkByName(vethName(id)); err != nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := m.Teardown(ctx, id, nsPath); err != nil {
		t.Fatal(err)
	}
	if veths, rules, ips := leftovers(t, m); len(veths)+rules+ips != 0 {
		t.Fatalf("leftovers: veths %v rules %d ips %d", veths, rules, ips)
	}
}

func TestPodToPod(t *testing.T) {
	m := newTestManager(t)
	ctx := context.Background()
	nsA, nsB := newNetns(t), newNetns(t)
	idA, idB := newSandboxID(), newSandboxID()
	resA, err := m.Setup(ctx, idA, nsA, testPod("a"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Teardown(ctx, idA, nsA) })
	resB, err := m.Setup(ctx, idB, nsB, testPod("b"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Teardown(ctx, idB, nsB) })
	listen(t, nsB, 9090, "b")
	listen(t, nsA, 9090, "a")
	var got string
	if err := inNetns(nsA, func() (err error) {
		got, err = dialHello(net.JoinHostPort(resB.IP.String(), "9090"))
		return err
	}); err != nil || got != "hello b" {
		t.Fatalf("pod a → pod b: %q, %v", got, err)
	}
	if err := inNetns(nsB, func() (err error) {
		got, err = dialHello(net.JoinHostPort(resA.IP.String(), "9090"))
		return err
	}); err != nil || got != "hello a" {
		t.Fatalf("pod b → pod a: %q, %v", got, err)
	}
	// Containers of one pod share the namespace: localhost works inside it.
	if err := inNetns(nsA, func() (err error) {
		got, err = dialHello("127.0.0.1:9090")
		return err
	}); err != nil || got != "hello a" {
		t.Fatalf("pod a → localhost: %q, %v", got, err)
	}
}

// freePort picks a TCP port free on the host's loopback.
func freePort(t testing.TB) int32 {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return int32(ln.Addr().(*net.TCPAddr).Port)
}

func TestHostPortThroughLoopbackAndConflict(t *testing.T) {
	m := newTestManager(t)
	ctx := context.Background()
	nsA, nsB := newNetns(t), newNetns(t)
	idA, idB := newSandboxID(), newSandboxID()
	hp := freePort(t)
	hp2 := freePort(t)

	podA := testPod("web",
		v1.ContainerPort{ContainerPort: 8080, HostPort: hp},
		v1.ContainerPort{ContainerPort: 8081, HostPort: hp2, HostIP: "127.0.0.1"},
	)
	resA, err := m.Setup(ctx, idA, nsA, podA)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Teardown(ctx, idA, nsA) })
	listen(t, nsA, 8080, "a8080")
	listen(t, nsA, 8081, "a8081")

	if got, err := dialHello(fmt.Sprintf("127.0.0.1:%d", hp)); err != nil || got != "hello a8080" {
		t.Fatalf("127.0.0.1:%d → pod: %q, %v", hp, got, err)
	}
	if got, err := dialHello(fmt.Sprintf("127.0.0.1:%d", hp2)); err != nil || got != "hello a8081" {
		t.Fatalf("127.0.0.1:%d (hostIP 127.0.0.1) → pod: %q, %v", hp2, got, err)
	}

	// UDP hostPort through 127.0.0.1.
	udpPort := freePort(t)
	if _, err := m.Setup(ctx, idA, nsA, func() *v1.Pod {
		p := podA.DeepCopy()
		p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports,
			v1.ContainerPort{ContainerPort: 5353, HostPort: udpPort, Protocol: v1.ProtocolUDP})
		return p
	}()); err != nil {
		t.Fatalf("re-Setup with a UDP port added: %v", err)
	}
	udpEcho(t, nsA, 5353)
	cu, err := net.Dial("udp4", fmt.Sprintf("127.0.0.1:%d", udpPort))
	if err != nil {
		t.Fatal(err)
	}
	defer cu.Close()
	_ = cu.SetDeadline(time.Now().Add(3 * time.Second))
	_, _ = cu.Write([]byte("ping"))
	buf := make([]byte, 64)
	if n, err := cu.Read(buf); err != nil || string(buf[:n]) != "echo ping" {
		t.Fatalf("UDP hostPort: %q, %v", buf[:n], err)
	}
	if got, err := dialHello(fmt.Sprintf("127.0.0.1:%d", hp)); err != nil || got != "hello a8080" {
		t.Fatalf("TCP hostPort after re-Setup: %q, %v", got, err)
	}

	// Pod b reaches pod a's hostPort through the gateway (a host address): needs the SNAT of
	// DNATed pod traffic.
	if _, err := m.Setup(ctx, idB, nsB, testPod("other")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Teardown(ctx, idB, nsB) })
	var got string
	if err := inNetns(nsB, func() (err error) {
		got, err = dialHello(net.JoinHostPort(m.gateway.String(), fmt.Sprint(hp)))
		return err
	}); err != nil || got != "hello a8080" {
		t.Fatalf("pod b → gateway:%d: %q, %v", hp, got, err)
	}
	// And pod a reaches its own hostPort (hairpin).
	if err := inNetns(nsA, func() (err error) {
		got, err = dialHello(net.JoinHostPort(m.gateway.String(), fmt.Sprint(hp)))
		return err
	}); err != nil || got != "hello a8080" {
		t.Fatalf("pod a → own hostPort: %q, %v", got, err)
	}
	if err := m.Teardown(ctx, idB, nsB); err != nil {
		t.Fatal(err)
	}

	// A second pod asking for the same hostPort is refused and nothing is set up for it.
	nsC, idC := newNetns(t), newSandboxID()
	_, err = m.Setup(ctx, idC, nsC, testPod("clash", v1.ContainerPort{ContainerPort: 80, HostPort: hp}))
	want := fmt.Sprintf("hostPort %d/TCP is already allocated to pod default/web", hp)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("conflict: got %v, want %q", err, want)
	}
	t.Logf("conflict error: %v", err)
	// Same port with another protocol is fine; a specific hostIP clashes with 0.0.0.0.
	_, err = m.Setup(ctx, idC, nsC, testPod("clash", v1.ContainerPort{ContainerPort: 80, HostPort: hp2, HostIP: "127.0.0.1"}))
	if err == nil || !strings.Contains(err.Error(), "already allocated") {
		t.Fatalf("conflict on hostIP 127.0.0.1: %v", err)
	}
	if _, err := netlink.LinkByName(vethName(idC)); err == nil {
		t.Fatal("veth of refused pod exists")
	}
	if alloc, _ := m.Allocated(); len(alloc) != 1 {
		t.Fatalf("refused pod holds an address: %v", alloc)
	}
	resC, err := m.Setup(ctx, idC, nsC, testPod("udp", v1.ContainerPort{ContainerPort: 80, HostPort: hp, Protocol: v1.ProtocolUDP}))
	if err != nil {
		t.Fatalf("UDP on a TCP hostPort's number: %v", err)
	}
	if err := m.Teardown(ctx, idC, nsC); err != nil {
		t.Fatal(err)
	}

	// After pod a is gone the port is free again, and no longer answers.
	if err := m.Teardown(ctx, idA, nsA); err != nil {
		t.Fatal(err)
	}
	if _, err := dialHello(fmt.Sprintf("127.0.0.1:%d", hp)); err == nil {
		t.Fatalf("hostPort %d still answers after Teardown", hp)
	}
	resC, err = m.Setup(ctx, idC, nsC, testPod("clash", v1.ContainerPort{ContainerPort: 80, HostPort: hp}))
	if err != nil {
		t.Fatalf("port free after Teardown: %v", err)
	}
	_ = resC
	if err := m.Teardown(ctx, idC, nsC); err != nil {
		t.Fatal(err)
	}
	if veths, rules, ips := leftovers(t, m); len(veths)+rules+ips != 0 {
		t.Fatalf("leftovers: veths %v rules %d ips %d", veths, rules, ips)
	}
	_ = resA
}

func TestSetupFailureLeavesNothing(t *testing.T) {
	m := newTestManager(t)
	ctx := context.Background()
	id := newSandboxID()
	// No such namespace: fails after the bridge exists, before anything pod-specific.
	if _, err := m.Setup(ctx, id, "/nonexistent/netns", testPod("x", v1.ContainerPort{ContainerPort: 80, HostPort: freePort(t)})); err == nil {
		t.Fatal("Setup on a missing netns succeeded")
	}
	// A namespace that is not a network namespace: fails half-way, at the veth creation, after
	// the address was allocated.
	if _, err := m.Setup(ctx, id, "/proc/self/ns/uts", testPod("x", v1.ContainerPort{ContainerPort: 80, HostPort: freePort(t)})); err == nil {
		t.Fatal("Setup on a UTS namespace succeeded")
	} else {
		t.Logf("half-way failure: %v", err)
	}
	if veths, rules, ips := leftovers(t, m); len(veths)+rules+ips != 0 {
		t.Fatalf("leftovers: veths %v rules %d ips %d", veths, rules, ips)
	}
}

func TestParallelSetupDistinctIPs(t *testing.T) {
	m := newTestManager(t)
	ctx := context.Background()
	const n = 20
	ids := make([]string, n)
	paths := make([]string, n)
	for i := range ids {
		ids[i], paths[i] = newSandboxID(), newNetns(t)
	}
	ips := make([]net.IP, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := m.Setup(ctx, ids[i], paths[i], testPod(fmt.Sprint("p", i)))
			if err == nil {
				ips[i] = res.IP
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	t.Cleanup(func() {
		for i := range ids {
			_ = m.Teardown(ctx, ids[i], paths[i])
		}
	})
	seen := map[string]bool{}
	for i := range ids {
		if errs[i] != nil {
			t.Fatalf("setup %d: %v", i, errs[i])
		}
		if seen[ips[i].String()] {
			t.Fatalf("address %s given twice", ips[i])
		}
		seen[ips[i].String()] = true
	}
	alloc, _ := m.Allocated()
	if len(alloc) != n {
		t.Fatalf("Allocated has %d entries, want %d", len(alloc), n)
	}
	// Parallel teardown too.
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = m.Teardown(ctx, ids[i], paths[i])
		}()
	}
	wg.Wait()
	for i := range ids {
		if errs[i] != nil {
			t.Fatalf("teardown %d: %v", i, errs[i])
		}
	}
	if veths, rules, ips := leftovers(t, m); len(veths)+rules+ips != 0 {
		t.Fatalf("leftovers: veths %v rules %d ips %d", veths, rules, ips)
	}
}

func TestManyCyclesLeakNothing(t *testing.T) {
	m := newTestManager(t)
	ctx := context.Background()
	cycles := 200
	if testing.Short() {
		cycles = 20
	}
	nsPath := newNetns(t)
	var setups, teardowns, total []time.Duration
	var lastIP net.IP
	for i := 0; i < cycles; i++ {
		id := newSandboxID()
		pod := testPod("cycle")
		if i%2 == 0 {
			pod = testPod("cycle", v1.ContainerPort{ContainerPort: 80, HostPort: 30000 + int32(i%1000)})
		}
		start := time.Now()
		res, err := m.Setup(ctx, id, nsPath, pod)
		if err != nil {
			t.Fatalf("cycle %d setup: %v", i, err)
		}
		mid := time.Now()
		if err := m.Teardown(ctx, id, nsPath); err != nil {
			t.Fatalf("cycle %d teardown: %v", i, err)
		}
		if i%2 == 1 { // pods without hostPorts: the common case
			setups, teardowns = append(setups, mid.Sub(start)), append(teardowns, time.Since(mid))
		}
		total = append(total, time.Since(start))
		if res.IP.Equal(lastIP) {
			t.Fatalf("cycle %d reused the address just released: %s", i, res.IP)
		}
		lastIP = res.IP
	}
	med := func(d []time.Duration) time.Duration {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return d[len(d)/2]
	}
	medTotal := med(total) // sorts total
	t.Logf("%d setup+teardown cycles (half with a hostPort): median %v, p90 %v, max %v; without hostPort: setup median %v, teardown median %v",
		cycles, medTotal, total[len(total)*9/10], total[len(total)-1], med(setups), med(teardowns))
	if veths, rules, ips := leftovers(t, m); len(veths)+rules+ips != 0 {
		t.Fatalf("leftovers: veths %v rules %d ips %d", veths, rules, ips)
	}
	links, _ := netlink.LinkList()
	for _, l := range links {
		if l.Type() == "veth" && l.Attrs().MasterIndex == 0 && strings.HasPrefix(l.Attrs().Name, "veth") && len(l.Attrs().Alias) == 64 {
			t.Errorf("orphan veth %s (alias %s)", l.Attrs().Name, l.Attrs().Alias)
		}
	}
}

func TestResetRemovesEverything(t *testing.T) {
	m := newTestManager(t)
	ctx := context.Background()
	nsPath := newNetns(t)
	id := newSandboxID()
	if _, err := m.Setup(ctx, id, nsPath, testPod("r", v1.ContainerPort{ContainerPort: 80, HostPort: freePort(t)})); err != nil {
		t.Fatal(err)
	}
	if err := m.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := netlink.LinkByName(m.cfg.Bridge); err == nil {
		t.Error("bridge left")
	}
	if _, err := netlink.LinkByName(vethName(id)); err == nil {
		t.Error("veth left")
	}
	if ok, _ := m.nft.tableExists(mustNft(t)); ok {
		t.Error("table left")
	}
	if alloc, _ := m.Allocated(); len(alloc) != 0 {
		t.Errorf("addresses left: %v", alloc)
	}
	// The Manager works again after a Reset.
	if _, err := m.Setup(ctx, id, nsPath, testPod("r")); err != nil {
		t.Fatalf("Setup after Reset: %v", err)
	}
	if err := m.Teardown(ctx, id, nsPath); err != nil {
		t.Fatal(err)
	}
}

func TestHostIP(t *testing.T) {
	ip, err := HostIP()
	if err != nil {
		t.Skipf("no host IP here: %v", err)
	}
	if ip.To4() == nil || ip.IsLoopback() {
		t.Fatalf("HostIP = %s", ip)
	}
}

// BenchmarkSetupTeardown measures one pod's network setup + teardown (no hostPorts).
func BenchmarkSetupTeardown(b *testing.B) {
	m := newTestManager(b)
	ctx := context.Background()
	nsPath := newNetns(b)
	for b.Loop() {
		id := newSandboxID()
		if _, err := m.Setup(ctx, id, nsPath, testPod("bench")); err != nil {
			b.Fatal(err)
		}
		if err := m.Teardown(ctx, id, nsPath); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSetupTeardownHostPort is the same with one hostPort (adds the nftables work).
func BenchmarkSetupTeardownHostPort(b *testing.B) {
	m := newTestManager(b)
	ctx := context.Background()
	nsPath := newNetns(b)
	port := freePort(b)
	for b.Loop() {
		id := newSandboxID()
		if _, err := m.Setup(ctx, id, nsPath, testPod("bench", v1.ContainerPort{ContainerPort: 80, HostPort: port})); err != nil {
			b.Fatal(err)
		}
		if err := m.Teardown(ctx, id, nsPath); err != nil {
			b.Fatal(err)
		}
	}
}

func TestHostNetworkPodGetsHostIP(t *testing.T) {
	m := newTestManager(t)
	pod := testPod("hn", v1.ContainerPort{ContainerPort: 80, HostPort: 80})
	pod.Spec.HostNetwork = true
	id := newSandboxID()
	res, err := m.Setup(context.Background(), id, "", pod)
	if err != nil {
		t.Fatal(err)
	}
	host, _ := HostIP()
	if !res.IP.Equal(host) || res.Interface != "" {
		t.Fatalf("hostNetwork result %+v, host IP %s", res, host)
	}
	if err := m.Teardown(context.Background(), id, ""); err != nil {
		t.Fatal(err)
	}
	if veths, rules, ips := leftovers(t, m); len(veths)+rules+ips != 0 {
		t.Fatalf("leftovers: veths %v rules %d ips %d", veths, rules, ips)
	}
}

// A firewall reload that deletes every table must not break the next pod's hostPorts.
func TestTableRecreatedAfterFlush(t *testing.T) {
	m := newTestManager(t)
	ctx := context.Background()
	nsA, idA := newNetns(t), newSandboxID()
	if _, err := m.Setup(ctx, idA, nsA, testPod("a", v1.ContainerPort{ContainerPort: 80, HostPort: freePort(t)})); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Teardown(ctx, idA, nsA) })
	if err := m.nft.deleteTable(); err != nil {
		t.Fatal(err)
	}
	nsB, idB := newNetns(t), newSandboxID()
	hp := freePort(t)
	if _, err := m.Setup(ctx, idB, nsB, testPod("b", v1.ContainerPort{ContainerPort: 7070, HostPort: hp})); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Teardown(ctx, idB, nsB) })
	listen(t, nsB, 7070, "b")
	if got, err := dialHello(fmt.Sprintf("127.0.0.1:%d", hp)); err != nil || got != "hello b" {
		t.Fatalf("hostPort after table recreation: %q, %v", got, err)
	}
}

// BenchmarkSetupParallel measures pod network setups per second with several at once (the
// teardowns are outside the timed region).
func BenchmarkSetupParallel(b *testing.B) {
	m := newTestManagerCIDR(b, "10.199.0.0/16")
	ctx := context.Background()
	type pair struct{ id, ns string }
	var mu sync.Mutex
	var made []pair
	b.Cleanup(func() {
		for _, p := range made {
			_ = m.Teardown(ctx, p.id, p.ns)
		}
	})
	nss := make(chan string, b.N)
	for i := 0; i < b.N; i++ {
		nss <- newNetns(b)
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			ns, id := <-nss, newSandboxID()
			if _, err := m.Setup(ctx, id, ns, testPod("bench")); err != nil {
				b.Error(err)
				return
			}
			mu.Lock()
			made = append(made, pair{id, ns})
			mu.Unlock()
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "setups/s")
}

// Two pods asking for the same hostPort at the same time: exactly one gets it.
func TestConcurrentHostPortConflict(t *testing.T) {
	m := newTestManager(t)
	ctx := context.Background()
	hp := freePort(t)
	const n = 6
	ids, nss := make([]string, n), make([]string, n)
	errs := make([]error, n)
	for i := range ids {
		ids[i], nss[i] = newSandboxID(), newNetns(t)
	}
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = m.Setup(ctx, ids[i], nss[i], testPod(fmt.Sprint("p", i), v1.ContainerPort{ContainerPort: 80, HostPort: hp}))
		}()
	}
	wg.Wait()
	won := 0
	for i := range ids {
		if errs[i] == nil {
			won++
			defer func() { _ = m.Teardown(ctx, ids[i], nss[i]) }()
		} else if !strings.Contains(errs[i].Error(), "already allocated") {
			t.Errorf("pod %d: %v", i, errs[i])
		}
	}
	if won != 1 {
		t.Fatalf("%d pods got hostPort %d", won, hp)
	}
	if veths, rules, ips := leftovers(t, m); len(veths) != 1 || rules != 1 || ips != 1 {
		t.Fatalf("state: veths %v rules %d ips %d, want 1 each", veths, rules, ips)
	}
}

// A client that was already sending to a UDP port before it became a hostPort reaches the pod
// (its stale conntrack entry is deleted), and after the pod is gone the port is free again.
func TestUDPHostPortStaleConntrack(t *testing.T) {
	m := newTestManager(t)
	ctx := context.Background()
	// A first pod makes the table, so that the early packets below pass through its NAT hooks
	// and get a conntrack entry with a (null) NAT binding, as on a host with running pods.
	ns0, id0 := newNetns(t), newSandboxID()
	if _, err := m.Setup(ctx, id0, ns0, testPod("first")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Teardown(ctx, id0, ns0) })
	port := freePort(t)
	client, err := net.Dial("udp4", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	// Nothing listens yet: this makes a conntrack entry without DNAT.
	_, _ = client.Write([]byte("early"))
	time.Sleep(50 * time.Millisecond)

	ns, id := newNetns(t), newSandboxID()
	if _, err := m.Setup(ctx, id, ns, testPod("udp", v1.ContainerPort{ContainerPort: 5353, HostPort: port, Protocol: v1.ProtocolUDP})); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Teardown(ctx, id, ns) })
	udpEcho(t, ns, 5353)
	buf := make([]byte, 64)
	var got string
	for attempt := 0; attempt < 3 && got == ""; attempt++ {
		_ = client.SetDeadline(time.Now().Add(time.Second))
		_, _ = client.Write([]byte("ping"))
		if n, err := client.Read(buf); err == nil {
			got = string(buf[:n])
		}
	}
	if got != "echo ping" {
		t.Fatalf("UDP client from before the mapping: got %q", got)
	}
}
