package integration

// End-to-end tests of the pod network (issue 5) through the real daemon: status fields, the
// files the kubelet writes (/etc/hosts, /etc/hostname, /etc/resolv.conf), hostNetwork, the
// localhost of a pod, hostPorts on 127.0.0.1, parallel creation, daemon restart and leaks.

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netns"
	v1 "k8s.io/api/core/v1"
)

// httpGet fetches url from the host, retrying for a few seconds while the app starts.
func httpGet(url string, tries int) (string, error) {
	var err error
	for i := 0; i < tries; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		var resp *http.Response
		if resp, err = http.DefaultClient.Do(req); err == nil {
			b, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			cancel()
			if rerr == nil {
				return string(b), nil
			}
			err = rerr
		} else {
			cancel()
		}
		time.Sleep(200 * time.Millisecond)
	}
	return "", err
}

// randomHostPort picks a free high TCP port on 127.0.0.1 (the port is only a hostPort of the
// pod: nothing on the host listens on it afterwards).
func randomHostPort(t *testing.T) int {
	t.Helper()
	for i := 0; i < 50; i++ {
		var b [2]byte
		_, _ = rand.Read(b[:])
		port := 40000 + int(binary.BigEndian.Uint16(b[:]))%20000
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			l.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// nftRules lists the rules of the env's nftables table that carry podrun's hostPort comment.
func (e *env) nftHostPortRules() []string {
	out, err := exec.Command("nft", "list", "table", "ip", e.nftTable).CombinedOutput()
	if err != nil {
		return nil // no table: no rule
	}
	var rules []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "podrun-hostport") {
			rules = append(rules, strings.TrimSpace(l))
		}
	}
	return rules
}

// bridgePorts lists the interfaces attached to the env's bridge.
func (e *env) bridgePorts() []string {
	var out []string
	for _, f := range dirEntries("/sys/class/net/" + e.bridge + "/brif") {
		out = append(out, filepath.Base(f))
	}
	return out
}

// allocatedIPs lists the addresses the env's IPAM holds.
func (e *env) allocatedIPs() []string {
	var out []string
	for _, f := range dirEntries(filepath.Join(e.state, "ipam", strings.ReplaceAll(e.podCIDR, "/", "-"))) {
		if net.ParseIP(filepath.Base(f)) != nil {
			out = append(out, filepath.Base(f))
		}
	}
	return out
}

// checkNoNetworkLeft fails when a veth, an address, a pinned netns or a hostPort rule is left.
func (e *env) checkNoNetworkLeft(when string) {
	e.t.Helper()
	if p := e.bridgePorts(); len(p) > 0 {
		e.t.Errorf("%s: veths left on %s: %v", when, e.bridge, p)
	}
	if ips := e.allocatedIPs(); len(ips) > 0 {
		e.t.Errorf("%s: addresses still allocated: %v", when, ips)
	}
	if f := dirEntries(filepath.Join(e.state, "netns")); len(f) > 0 {
		e.t.Errorf("%s: netns files left: %v", when, f)
	}
	if r := e.nftHostPortRules(); len(r) > 0 {
		e.t.Errorf("%s: hostPort rules left in table %s: %v", when, e.nftTable, r)
	}
}

// deleteAndCheckNetwork deletes pods (names, or "--all") with no grace period, waits until no
// pod is left and checks that nothing of the pod network is.
func (e *env) deleteAndCheckNetwork(timeout time.Duration, when string, pods ...string) {
	e.t.Helper()
	args := []string{"delete", "pods"}
	e.must(append(append(args, pods...), "--grace-period", "0")...)
	if err := e.waitNoPods(timeout); err != nil {
		e.t.Fatal(err)
	}
	e.checkNoNetworkLeft(when)
}

func execOut(t *testing.T, e *env, pod, container string, cmd ...string) string {
	t.Helper()
	args := []string{"exec", pod}
	if container != "" {
		args = append(args, "-c", container)
	}
	args = append(append(args, "--"), cmd...)
	out, stderr, code := e.podrun(args...)
	if code != 0 {
		t.Fatalf("podrun %s: exit %d: %s %s", strings.Join(args, " "), code, out, stderr)
	}
	return out
}

// Status fields, `get pods -o wide`, the kubelet's files and nsenter on the pinned netns.
func TestNetworkStatusAndFiles(t *testing.T) {
	e := newEnv(t)
	hostIP := ""
	e.runWait(`apiVersion: v1
kind: Pod
metadata:
  name: named
spec:
  terminationGracePeriodSeconds: 0
  hostname: web-0
  subdomain: websvc
  hostAliases:
  - ip: 10.1.2.3
    hostnames: [foo.local, bar.local]
  dnsConfig:
    searches: [example.internal]
    options:
    - name: ndots
      value: "2"
  containers:
  - name: main
    image: busybox
    command: ["sleep", "3600"]
`)
	p := e.waitRunning("named", 30*time.Second)
	podIP := p.Status.PodIP
	ip := net.ParseIP(podIP)
	_, cidr, _ := net.ParseCIDR(e.podCIDR)
	if ip == nil || !cidr.Contains(ip) {
		t.Fatalf("podIP %q not in the pod CIDR %s", podIP, e.podCIDR)
	}
	if len(p.Status.PodIPs) != 1 || p.Status.PodIPs[0].IP != podIP {
		t.Errorf("podIPs = %v, want [%s]", p.Status.PodIPs, podIP)
	}
	hostIP = p.Status.HostIP
	if net.ParseIP(hostIP) == nil || len(p.Status.HostIPs) == 0 || p.Status.HostIPs[0].IP != hostIP {
		t.Errorf("hostIP %q / hostIPs %v: want an address, hostIPs starting with it", hostIP, p.Status.HostIPs)
	}

	t.Run("get-wide", func(t *testing.T) {
		out := e.must("get", "pods", "-o", "wide")
		h, rows := parseTable(out)
		if !strings.Contains(strings.Join(h, ","), "IP") {
			t.Fatalf("no IP column: %q", out)
		}
		found := false
		for _, r := range rows {
			if r["NAME"] == "named" {
				found = true
				if r["IP"] != podIP {
					t.Errorf("IP column %q, want %s:\n%s", r["IP"], podIP, out)
				}
			}
		}
		if !found {
			t.Errorf("pod named not listed:\n%s", out)
		}
	})

	t.Run("etc-hosts", func(t *testing.T) {
		hosts := execOut(t, e, "named", "", "cat", "/etc/hosts")
		for _, want := range []string{
			"# Kubernetes-managed hosts file.",
			"127.0.0.1\tlocalhost",
			podIP + "\tweb-0.websvc.default.svc.cluster.local\tweb-0",
			"# Entries added by HostAliases.",
			"10.1.2.3\tfoo.local\tbar.local",
		} {
			if !strings.Contains(hosts, want+"\n") {
				t.Errorf("/etc/hosts lacks %q:\n%s", want, hosts)
			}
		}
		if hn := strings.TrimSpace(execOut(t, e, "named", "", "cat", "/etc/hostname")); hn != "web-0" {
			t.Errorf("/etc/hostname = %q, want web-0", hn)
		}
		if hn := strings.TrimSpace(execOut(t, e, "named", "", "hostname")); hn != "web-0" {
			t.Errorf("hostname = %q, want web-0", hn)
		}
	})

	hostNS := hostNameservers(t)
	t.Run("resolv-clusterfirst", func(t *testing.T) {
		rc := execOut(t, e, "named", "", "cat", "/etc/resolv.conf")
		checkNameservers(t, rc, hostNS)
		if !strings.Contains(rc, "example.internal") {
			t.Errorf("resolv.conf lacks the dnsConfig search example.internal:\n%s", rc)
		}
		if !strings.Contains(rc, "ndots:2") {
			t.Errorf("resolv.conf lacks option ndots:2:\n%s", rc)
		}
	})

	t.Run("resolv-default-and-none", func(t *testing.T) {
		e.runWait(`apiVersion: v1
kind: Pod
metadata:
  name: dnsdefault
spec:
  terminationGracePeriodSeconds: 0
  dnsPolicy: Default
  containers:
  - name: main
    image: busybox
    command: ["sleep", "3600"]
---
apiVersion: v1
kind: Pod
metadata:
  name: dnsnone
spec:
  terminationGracePeriodSeconds: 0
  dnsPolicy: None
  dnsConfig:
    nameservers: [192.0.2.53]
    searches: [a.example, b.example]
    options:
    - name: timeout
      value: "1"
  containers:
  - name: main
    image: busybox
    command: ["sleep", "3600"]
`)
		e.waitRunning("dnsdefault", 30*time.Second)
		e.waitRunning("dnsnone", 30*time.Second)
		checkNameservers(t, execOut(t, e, "dnsdefault", "", "cat", "/etc/resolv.conf"), hostNS)
		got := execOut(t, e, "dnsnone", "", "cat", "/etc/resolv.conf")
		want := "search a.example b.example\nnameserver 192.0.2.53\noptions timeout:1\n"
		if got != want {
			t.Errorf("dnsPolicy None resolv.conf:\n%s\nwant:\n%s", got, want)
		}
	})

	t.Run("nsenter-net", func(t *testing.T) {
		r := e.inspect("named")
		nsPath := r.Sandbox.Namespaces["net"]
		if nsPath == "" {
			t.Fatalf("inspect: no net namespace path: %+v", r.Sandbox)
		}
		out, err := exec.Command("nsenter", "--net="+nsPath, "ip", "-4", "addr", "show", "eth0").CombinedOutput()
		if err != nil {
			t.Fatalf("nsenter --net=%s ip -4 addr show eth0: %v: %s", nsPath, err, out)
		}
		if !strings.Contains(string(out), "inet "+podIP+"/") {
			t.Errorf("eth0 in %s does not hold %s:\n%s", nsPath, podIP, out)
		}
		out, err = exec.Command("nsenter", "--net="+nsPath, "ip", "-4", "route", "show", "default").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "default via") {
			t.Errorf("no default route in the pod: %v: %s", err, out)
		}
	})

	t.Run("hostNetwork", func(t *testing.T) {
		before := len(e.bridgePorts())
		e.runWait(`apiVersion: v1
kind: Pod
metadata:
  name: hostnet
spec:
  terminationGracePeriodSeconds: 0
  hostNetwork: true
  hostAliases:
  - ip: 10.9.9.9
    hostnames: [alias.local]
  containers:
  - name: main
    image: busybox
    command: ["sleep", "3600"]
`)
		hp := e.waitRunning("hostnet", 30*time.Second)
		if hp.Status.PodIP == "" || hp.Status.PodIP != hp.Status.HostIP {
			t.Errorf("hostNetwork podIP %q, hostIP %q: want equal", hp.Status.PodIP, hp.Status.HostIP)
		}
		if len(hp.Status.PodIPs) == 0 || hp.Status.PodIPs[0].IP != hp.Status.HostIP {
			t.Errorf("hostNetwork podIPs %v, want [%s]", hp.Status.PodIPs, hp.Status.HostIP)
		}
		if after := len(e.bridgePorts()); after != before {
			t.Errorf("hostNetwork pod added a veth: %d → %d ports on %s", before, after, e.bridge)
		}
		r := e.inspect("hostnet")
		pid := r.containerPid(t, "main")
		if got, want := nsInode(t, pid, "net"), nsInode(t, os.Getpid(), "net"); got != want {
			t.Errorf("hostNetwork container in net ns %s, host is %s", got, want)
		}
		hosts := execOut(t, e, "hostnet", "", "cat", "/etc/hosts")
		if !strings.Contains(hosts, "10.9.9.9\talias.local") {
			t.Errorf("hostNetwork /etc/hosts lacks the hostAlias:\n%s", hosts)
		}
		for _, a := range e.allocatedIPs() {
			if a == hp.Status.PodIP {
				t.Errorf("hostNetwork pod holds an address of the pod CIDR")
			}
		}
		if n := len(e.allocatedIPs()); n != 3 {
			t.Errorf("%d addresses allocated, want 3 (named, dnsdefault, dnsnone): %v", n, e.allocatedIPs())
		}
	})

	e.deleteAndCheckNetwork(60*time.Second, "after delete", "--all")
}

// hostNameservers are the host's non-loopback resolvers, as a pod with dnsPolicy
// ClusterFirst/Default sees them (podrun has no cluster DNS).
func hostNameservers(t *testing.T) []string {
	b, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		t.Fatal(err)
	}
	var ns []string
	loop := false
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && f[0] == "nameserver" {
			if ip := net.ParseIP(f[1]); ip != nil && ip.IsLoopback() {
				loop = true
				continue
			}
			ns = append(ns, f[1])
		}
	}
	if len(ns) == 0 && loop {
		// systemd-resolved stub: the upstream list is used instead.
		if up, err := os.ReadFile("/run/systemd/resolve/resolv.conf"); err == nil {
			for _, l := range strings.Split(string(up), "\n") {
				if f := strings.Fields(l); len(f) >= 2 && f[0] == "nameserver" {
					ns = append(ns, f[1])
				}
			}
		}
	}
	if len(ns) > 3 {
		ns = ns[:3]
	}
	return ns
}

func checkNameservers(t *testing.T, rc string, want []string) {
	t.Helper()
	var got []string
	for _, l := range strings.Split(rc, "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "nameserver" {
			if ip := net.ParseIP(f[1]); ip != nil && ip.IsLoopback() {
				t.Errorf("loopback nameserver %s in the pod's resolv.conf", f[1])
			}
			got = append(got, f[1])
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("nameservers %v, want the host's %v:\n%s", got, want, rc)
	}
}

// The containers of a pod share one IP and talk over localhost (the sidecar pattern).
func TestNetworkLocalhostSidecar(t *testing.T) {
	e := newEnv(t)
	e.loadImage("demoapp")
	e.runWait(`apiVersion: v1
kind: Pod
metadata:
  name: duo
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: demoapp
    image: ikubernetes/demoapp:v1.0
  - name: sidecar
    image: busybox
    command: ["sleep", "3600"]
`)
	p := e.waitRunning("duo", 30*time.Second)
	r := e.inspect("duo")
	if a, b := nsInode(t, r.containerPid(t, "demoapp"), "net"), nsInode(t, r.containerPid(t, "sidecar"), "net"); a != b {
		t.Errorf("containers in different net namespaces: %s, %s", a, b)
	}
	var out string
	var code int
	var stderr string
	for i := 0; i < 20; i++ {
		out, stderr, code = e.podrun("exec", "duo", "-c", "sidecar", "--", "wget", "-qO-", "http://127.0.0.1:80/")
		if code == 0 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if code != 0 || !strings.Contains(out, "duo") {
		t.Errorf("sidecar wget 127.0.0.1:80: exit %d: %q %q", code, out, stderr)
	}
	// Both see the pod IP on eth0.
	for _, c := range []string{"demoapp", "sidecar"} {
		out, stderr, code := e.podrun("exec", "duo", "-c", c, "--", "cat", "/proc/net/fib_trie")
		if code != 0 || !strings.Contains(out, p.Status.PodIP) {
			t.Errorf("container %s does not see the pod IP %s: exit %d %s", c, p.Status.PodIP, code, stderr)
		}
	}
}

// A hostPort answers on 127.0.0.1, a second pod asking for it is refused with a clear error,
// and the port is closed once the pod is deleted.
func TestNetworkHostPort(t *testing.T) {
	e := newEnv(t)
	e.loadImage("demoapp")
	port := randomHostPort(t)
	podYAML := func(name string) string { return demoappHostPortPod(name, port) }
	e.runWait(podYAML("hp1"))
	e.waitRunning("hp1", 30*time.Second)
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	body, err := httpGet(url, 25)
	if err != nil || !strings.Contains(body, "hp1") {
		t.Fatalf("GET %s: %q, %v; want the demo app of hp1\nnft:\n%s", url, body, err, e.nftList())
	}
	if n := len(e.nftHostPortRules()); n == 0 {
		t.Errorf("no hostPort rule in table %s", e.nftTable)
	}

	t.Run("conflict", func(t *testing.T) {
		out, stderr, code := e.podrun("run", "--wait", writeYAML(t, podYAML("hp2")))
		if code == 0 {
			// Refused later: the pod must at least fail to start with an event naming the port.
			p := e.waitFor("hp2", 30*time.Second, "sandbox failure event", func(p *v1.Pod) bool {
				ev, _, _ := e.podrun("describe", "pod", "hp2")
				return strings.Contains(ev, fmt.Sprint(port))
			})
			t.Errorf("second pod with hostPort %d accepted at run (phase %s); want a one-line error at run", port, p.Status.Phase)
			return
		}
		if !oneLine(stderr) || !strings.Contains(stderr, fmt.Sprint(port)) || !strings.Contains(stderr, "hp1") {
			t.Errorf("conflict error: want one line naming the port and pod hp1, got exit %d: %q %q", code, out, stderr)
		}
		t.Logf("refused at run: %s", strings.TrimSpace(stderr))
		if _, err := e.getPod("hp2"); err == nil {
			t.Errorf("refused pod hp2 is listed")
		}
		// The first pod still answers.
		if body, err := httpGet(url, 5); err != nil || !strings.Contains(body, "hp1") {
			t.Errorf("after the refused pod, GET %s: %q, %v", url, body, err)
		}
		if n := len(e.allocatedIPs()); n != 1 {
			t.Errorf("%d addresses allocated, want 1: %v", n, e.allocatedIPs())
		}
	})

	e.must("delete", "pod", "hp1", "--grace-period", "0")
	if err := e.waitNoPods(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 2*time.Second)
	if err == nil {
		c.Close()
		t.Errorf("hostPort %d still answers after delete", port)
	} else if !errorsIsRefused(err) {
		t.Errorf("dial hostPort %d after delete: %v, want connection refused", port, err)
	}
	e.checkNoNetworkLeft("after delete")

	// The port is free again for a new pod.
	e.runWait(podYAML("hp3"))
	e.waitRunning("hp3", 30*time.Second)
	if body, err := httpGet(url, 25); err != nil || !strings.Contains(body, "hp3") {
		t.Errorf("hostPort reused by hp3: %q, %v", body, err)
	}
}

// busyboxHostPortPod is a sleeping busybox pod whose port 80 is hostPort port.
func busyboxHostPortPod(name string, port int) string {
	return hostPortPod(name, "busybox", `["sleep", "3600"]`, port)
}

// demoappHostPortPod is a demoapp pod whose port 80 is hostPort port.
func demoappHostPortPod(name string, port int) string {
	return hostPortPod(name, "ikubernetes/demoapp:v1.0", "", port)
}

func hostPortPod(name, image, command string, port int) string {
	if command != "" {
		command = "\n    command: " + command
	}
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: main
    image: %s%s
    ports:
    - containerPort: 80
      hostPort: %d
`, name, image, command, port)
}

func errorsIsRefused(err error) bool {
	var se syscall.Errno
	for e := err; e != nil; {
		if x, ok := e.(syscall.Errno); ok {
			se = x
			break
		}
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			break
		}
		e = u.Unwrap()
	}
	return se == syscall.ECONNREFUSED || strings.Contains(err.Error(), "connection refused")
}

func (e *env) nftList() string {
	out, _ := exec.Command("nft", "list", "table", "ip", e.nftTable).CombinedOutput()
	return string(out)
}

// 20 pods created by 20 concurrent `podrun run` processes get 20 distinct addresses.
func TestNetworkParallelPods(t *testing.T) {
	e := newEnv(t)
	const n = 20
	var wg sync.WaitGroup
	errs := make([]string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			name := fmt.Sprintf("par%02d", i)
			y := writeYAML(t, sleepersPod(name, "", map[string]int{"main": 3600}))
			out, stderr, code := e.podrunTimeout(3*time.Minute, nil, "run", "--wait", y)
			if code != 0 {
				errs[i] = fmt.Sprintf("run %s: exit %d: %s %s", name, code, out, stderr)
			}
		}(i)
	}
	wg.Wait()
	for _, s := range errs {
		if s != "" {
			t.Error(s)
		}
	}
	seen := map[string]string{}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("par%02d", i)
		p := e.waitRunning(name, 60*time.Second)
		ip := p.Status.PodIP
		if ip == "" {
			t.Errorf("%s has no IP", name)
			continue
		}
		if other, ok := seen[ip]; ok {
			t.Errorf("%s and %s share %s", name, other, ip)
		}
		seen[ip] = name
	}
	if got := len(e.allocatedIPs()); got != n {
		t.Errorf("%d addresses allocated, want %d", got, n)
	}
	if got := len(e.bridgePorts()); got != n {
		t.Errorf("%d veths on the bridge, want %d", got, n)
	}
	e.deleteAndCheckNetwork(90*time.Second, "after deleting the 20 pods", "--all")
}

// A daemon killed with SIGKILL and started again re-adopts the pod: same IP, still reachable.
func TestNetworkDaemonRestart(t *testing.T) {
	e := newEnv(t)
	e.loadImage("demoapp")
	port := randomHostPort(t)
	e.runWait(demoappHostPortPod("keep", port))
	p := e.waitRunning("keep", 30*time.Second)
	ip := p.Status.PodIP
	if body, err := httpGet("http://"+ip+"/", 25); err != nil || !strings.Contains(body, "keep") {
		t.Fatalf("before restart: GET %s: %q %v", ip, body, err)
	}
	if !e.killDaemon(syscall.SIGKILL, 10*time.Second) {
		t.Fatal("daemon survived SIGKILL")
	}
	e.startDaemon()
	p = e.waitRunning("keep", 30*time.Second)
	if p.Status.PodIP != ip {
		t.Errorf("after restart podIP %q, want %q", p.Status.PodIP, ip)
	}
	if body, err := httpGet("http://"+ip+"/", 25); err != nil || !strings.Contains(body, "keep") {
		t.Errorf("after restart: GET %s: %q %v", ip, body, err)
	}
	if body, err := httpGet(fmt.Sprintf("http://127.0.0.1:%d/", port), 25); err != nil || !strings.Contains(body, "keep") {
		t.Errorf("after restart: hostPort %d: %q %v", port, body, err)
	}
	// A new pod does not get the kept address.
	e.runWait(sleepersPod("newer", "", map[string]int{"main": 3600}))
	if q := e.waitRunning("newer", 30*time.Second); q.Status.PodIP == ip || q.Status.PodIP == "" {
		t.Errorf("new pod after restart got %q (kept pod holds %s)", q.Status.PodIP, ip)
	}
	if n := len(e.allocatedIPs()); n != 2 {
		t.Errorf("%d addresses allocated, want 2: %v", n, e.allocatedIPs())
	}
	if n := len(e.bridgePorts()); n != 2 {
		t.Errorf("%d veths, want 2: %v", n, e.bridgePorts())
	}
}

// A pod whose sandbox fails half-way leaves no veth, address, netns or hostPort rule.
func TestNetworkFailedSandboxLeavesNothing(t *testing.T) {
	e := newEnv(t)
	port := randomHostPort(t)
	// A sysctl the kernel refuses (not a number) fails the sandbox after validation.
	_, _, _ = e.podrun("run", writeYAML(t, fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: badsysctl
spec:
  terminationGracePeriodSeconds: 0
  securityContext:
    sysctls:
    - name: net.ipv4.ip_unprivileged_port_start
      value: "not-a-number"
  containers:
  - name: main
    image: busybox
    command: ["sleep", "3600"]
    ports:
    - containerPort: 80
      hostPort: %d
`, port)))
	// Either refused at run, or the pod stays Pending with a failed sandbox: give it time to fail.
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		out, _, _ := e.podrun("describe", "pod", "badsysctl")
		if strings.Contains(out, "FailedCreatePodSandBox") || strings.Contains(out, "ailed") {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	desc, _, _ := e.podrun("describe", "pod", "badsysctl")
	t.Logf("describe badsysctl:\n%s", desc)
	if p, err := e.getPod("badsysctl"); err == nil && p.Status.Phase == v1.PodRunning {
		t.Errorf("pod with an invalid sysctl is Running")
	}
	// While the pod retries its sandbox, nothing of a failed attempt may stay.
	time.Sleep(2 * time.Second)
	if p := e.bridgePorts(); len(p) > 0 {
		t.Errorf("veths left by a failed sandbox: %v", p)
	}
	if ips := e.allocatedIPs(); len(ips) > 0 {
		t.Errorf("addresses left by a failed sandbox: %v", ips)
	}
	if r := e.nftHostPortRules(); len(r) > 0 {
		t.Errorf("hostPort rules left by a failed sandbox: %v", r)
	}
	e.deleteAndCheckNetwork(60*time.Second, "after delete", "--all")

	// Half-way: the pause runs and its netns is pinned when the network refuses the hostPort
	// (held by a rule of a sandbox the daemon does not know, as after a crash of another
	// podrun on the same table). The sandbox is removed with everything it had.
	e.runWait(sleepersPod("plain", "", map[string]int{"main": 3600}))
	port2 := randomHostPort(t)
	ghost := fmt.Sprintf(`podrun-hostport sandbox=ghost map=TCP/0.0.0.0/%d pod=default/ghost`, port2)
	if out, err := exec.Command("nft", "add", "rule", "ip", e.nftTable, "hostports", "tcp", "dport", fmt.Sprint(port2),
		"counter", "comment", `"`+ghost+`"`).CombinedOutput(); err != nil {
		t.Fatalf("add the ghost rule: %v: %s", err, out)
	}
	e.create(busyboxHostPortPod("halfway", port2))
	deadline = time.Now().Add(20 * time.Second)
	var desc2 string
	for time.Now().Before(deadline) {
		desc2, _, _ = e.podrun("describe", "pod", "halfway")
		if strings.Contains(desc2, "FailedCreatePodSandBox") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(desc2, "FailedCreatePodSandBox") || !strings.Contains(desc2, fmt.Sprint(port2)) {
		t.Errorf("no FailedCreatePodSandBox event naming hostPort %d:\n%s", port2, desc2)
	}
	// Only the plain pod's network is there (checked several times while the pod retries).
	for i := 0; i < 5; i++ {
		if n := len(e.allocatedIPs()); n != 1 {
			t.Errorf("%d addresses allocated, want 1 (plain): %v", n, e.allocatedIPs())
		}
		if n := len(e.bridgePorts()); n != 1 {
			t.Errorf("%d veths, want 1 (plain): %v", n, e.bridgePorts())
		}
		// A retry in progress pins a netns for a moment: wait for it to go.
		n := 0
		for w := 0; w < 40; w++ {
			if n = len(dirEntries(filepath.Join(e.state, "netns"))); n == 1 {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if n != 1 {
			t.Errorf("%d netns files, want 1 (plain)", n)
		}
		if r := e.nftHostPortRules(); len(r) != 1 {
			t.Errorf("hostPort rules %v, want only the ghost's", r)
		}
		if t.Failed() {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	// Once the port is free the pod's next sandbox attempt succeeds.
	e.deleteNftRulesWith("sandbox=ghost")
	e.waitRunning("halfway", 30*time.Second)
	if r := e.nftHostPortRules(); len(r) != 1 || strings.Contains(r[0], "ghost") {
		t.Errorf("hostPort rules %v, want the one of halfway", r)
	}
	e.deleteAndCheckNetwork(60*time.Second, "after the half-way pod", "--all")
}

// deleteNftRulesWith deletes the rules of the env's hostports chain whose text holds s.
func (e *env) deleteNftRulesWith(s string) {
	e.t.Helper()
	out, err := exec.Command("nft", "-a", "list", "chain", "ip", e.nftTable, "hostports").CombinedOutput()
	if err != nil {
		e.t.Fatalf("nft list chain: %v: %s", err, out)
	}
	for _, l := range strings.Split(string(out), "\n") {
		i := strings.LastIndex(l, "# handle ")
		if i < 0 || !strings.Contains(l, s) {
			continue
		}
		h := strings.TrimSpace(l[i+len("# handle "):])
		if out, err := exec.Command("nft", "delete", "rule", "ip", e.nftTable, "hostports", "handle", h).CombinedOutput(); err != nil {
			e.t.Fatalf("nft delete rule %s: %v: %s", h, err, out)
		}
	}
}

// 200 create/delete cycles (in batches of 10 concurrent pods, each with a hostPort) leave no
// veth, netns file, hostPort rule or address.
func TestNetworkChurn(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	e := newEnv(t)
	const batch, rounds = 10, 20
	base := randomHostPort(t)
	if base > 65000 {
		base -= 1000
	}
	start := time.Now()
	for r := 0; r < rounds; r++ {
		var b strings.Builder
		for i := 0; i < batch; i++ {
			b.WriteString("---\n" + busyboxHostPortPod(fmt.Sprintf("churn%d-%d", r, i), base+i))
		}
		e.runWait(b.String())
		if n := len(e.allocatedIPs()); n != batch {
			t.Errorf("round %d: %d addresses allocated, want %d", r, n, batch)
		}
		if n := len(e.nftHostPortRules()); n == 0 {
			t.Errorf("round %d: no hostPort rules", r)
		}
		e.must("delete", "pods", "--all", "--grace-period", "0")
		if err := e.waitNoPods(60 * time.Second); err != nil {
			t.Fatalf("round %d: %v", r, err)
		}
		e.checkNoNetworkLeft(fmt.Sprintf("round %d", r))
		if t.Failed() {
			return
		}
	}
	t.Logf("%d create/delete cycles in %v", batch*rounds, time.Since(start).Round(time.Millisecond))
	e.checkNoLeaks()
}

// Pods asking for the same hostPort at the same time: exactly one is accepted, the others are
// refused at `podrun run` with one line.
func TestNetworkHostPortRace(t *testing.T) {
	e := newEnv(t)
	port := randomHostPort(t)
	const n = 6
	var wg sync.WaitGroup
	codes := make([]int, n)
	stderrs := make([]string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			y := writeYAML(t, busyboxHostPortPod(fmt.Sprintf("race%d", i), port))
			_, stderrs[i], codes[i] = e.podrun("run", y)
		}(i)
	}
	wg.Wait()
	accepted := 0
	for i := 0; i < n; i++ {
		if codes[i] == 0 {
			accepted++
			continue
		}
		if !oneLine(stderrs[i]) || !strings.Contains(stderrs[i], "already allocated") {
			t.Errorf("race%d refused with %q, want one line saying the port is allocated", i, stderrs[i])
		}
	}
	if accepted != 1 {
		t.Fatalf("%d of %d pods with hostPort %d accepted, want 1", accepted, n, port)
	}
	out := e.must("get", "pods", "-o", "name")
	if got := len(strings.Fields(out)); got != 1 {
		t.Errorf("%d pods listed, want 1: %q", got, out)
	}
	// The accepted pod runs.
	e.waitRunning(strings.TrimPrefix(strings.TrimSpace(out), "pod/"), 30*time.Second)
}

// listenUDPInNetns opens a UDP socket bound to port inside the network namespace pinned at
// nsPath (the test's own pod): the socket stays there after the thread returns to the host.
func listenUDPInNetns(t *testing.T, nsPath string, port int) *net.UDPConn {
	t.Helper()
	type res struct {
		c   *net.UDPConn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		goruntime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			ch <- res{nil, err}
			return
		}
		defer orig.Close()
		target, err := netns.GetFromPath(nsPath)
		if err != nil {
			ch <- res{nil, err}
			return
		}
		defer target.Close()
		if err := netns.Set(target); err != nil {
			ch <- res{nil, err}
			return
		}
		c, lerr := net.ListenUDP("udp4", &net.UDPAddr{Port: port})
		if err := netns.Set(orig); err != nil {
			// The thread stays locked and dies with the goroutine.
			ch <- res{nil, fmt.Errorf("back to the host netns: %w", err)}
			return
		}
		goruntime.UnlockOSThread()
		ch <- res{c, lerr}
	}()
	r := <-ch
	if r.err != nil {
		t.Fatalf("UDP socket in %s: %v", nsPath, r.err)
	}
	t.Cleanup(func() { r.c.Close() })
	return r.c
}

// A UDP hostPort and a TCP hostPort bound to hostIP 127.0.0.1 reach the pod through 127.0.0.1.
func TestNetworkHostPortUDPAndHostIP(t *testing.T) {
	e := newEnv(t)
	e.loadImage("demoapp")
	tcpPort, udpPort := randomHostPort(t), randomHostPort(t)
	e.runWait(fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: ports
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: demoapp
    image: ikubernetes/demoapp:v1.0
    ports:
    - containerPort: 80
      hostPort: %d
      hostIP: 127.0.0.1
    - containerPort: 5353
      hostPort: %d
      protocol: UDP
`, tcpPort, udpPort))
	e.waitRunning("ports", 30*time.Second)
	if body, err := httpGet(fmt.Sprintf("http://127.0.0.1:%d/", tcpPort), 25); err != nil || !strings.Contains(body, "ports") {
		t.Errorf("TCP hostPort %d on hostIP 127.0.0.1: %q, %v\n%s", tcpPort, body, err, e.nftList())
	}

	srv := listenUDPInNetns(t, e.inspect("ports").Sandbox.Namespaces["net"], 5353)
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := srv.ReadFromUDP(buf)
			if err != nil {
				return
			}
			_, _ = srv.WriteToUDP(append([]byte("pong:"), buf[:n]...), from)
		}
	}()
	c, err := net.Dial("udp4", fmt.Sprintf("127.0.0.1:%d", udpPort))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var got string
	for i := 0; i < 10 && got == ""; i++ {
		_, _ = c.Write([]byte("ping"))
		_ = c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		buf := make([]byte, 512)
		if n, err := c.Read(buf); err == nil {
			got = string(buf[:n])
		}
	}
	if got != "pong:ping" {
		t.Errorf("UDP hostPort %d: got %q, want pong:ping\n%s", udpPort, got, e.nftList())
	}
	e.deleteAndCheckNetwork(60*time.Second, "after delete", "ports")
}

// `podrun system reset` with no daemon and no pod left removes the bridge and the table.
func TestNetworkSystemReset(t *testing.T) {
	e := newEnv(t)
	port := randomHostPort(t)
	e.runWait(busyboxHostPortPod("r", port))
	if _, err := os.Stat("/sys/class/net/" + e.bridge); err != nil {
		t.Fatalf("no bridge %s with a pod running: %v", e.bridge, err)
	}
	if e.nftList() == "" || len(e.nftHostPortRules()) != 1 {
		t.Fatalf("table %s: want one hostPort rule:\n%s", e.nftTable, e.nftList())
	}
	e.deleteAndCheckNetwork(60*time.Second, "after delete", "--all")
	e.stopDaemon()
	args := append([]string{"--socket", e.socket, "system", "reset", "--state", e.state}, e.netArgs()...)
	if out, err := exec.Command(podrunBin(), args...).CombinedOutput(); err != nil {
		t.Fatalf("system reset: %v: %s", err, out)
	}
	if _, err := os.Stat("/sys/class/net/" + e.bridge); err == nil {
		t.Errorf("bridge %s left after system reset", e.bridge)
	}
	if out, err := exec.Command("nft", "list", "table", "ip", e.nftTable).CombinedOutput(); err == nil {
		t.Errorf("table %s left after system reset:\n%s", e.nftTable, out)
	}
	if _, err := os.Stat(filepath.Join(e.state, "ipam")); err == nil {
		t.Errorf("IPAM state left after system reset")
	}
}

// A pod that has finished (Succeeded) gives its hostPort back: another pod may take it, and
// the finished pod keeps its status until deleted.
func TestNetworkHostPortFreedByFinishedPod(t *testing.T) {
	e := newEnv(t)
	port := randomHostPort(t)
	done := strings.Replace(busyboxHostPortPod("done", port), `["sleep", "3600"]`, `["true"]`, 1)
	done = strings.Replace(done, "spec:\n", "spec:\n  restartPolicy: Never\n", 1)
	e.create(done)
	e.waitPhase("done", v1.PodSucceeded, 30*time.Second)
	// The sandbox is stopped just after the phase turns terminal; its network teardown
	// removes the rules, then the veth (tens of ms), then releases the address.
	deadline := time.Now().Add(10 * time.Second)
	for (len(e.nftHostPortRules()) > 0 || len(e.allocatedIPs()) > 0) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if r := e.nftHostPortRules(); len(r) > 0 {
		t.Errorf("a Succeeded pod still maps its hostPort: %v", r)
	}
	if ips := e.allocatedIPs(); len(ips) > 0 {
		t.Errorf("a Succeeded pod still holds %v", ips)
	}
	e.runWait(busyboxHostPortPod("next", port))
	e.waitRunning("next", 30*time.Second)
	if r := e.nftHostPortRules(); len(r) != 1 {
		t.Errorf("hostPort rules %v, want the one of pod next", r)
	}
}

// A pod deleted while its sandbox is being made leaves nothing: no pause, cgroup, runc state,
// veth, address or rule (the sandbox is finished, then removed, never abandoned half-made).
func TestNetworkDeleteWhileStarting(t *testing.T) {
	e := newEnv(t)
	port := randomHostPort(t)
	for i := 0; i < 15; i++ {
		e.must("run", writeYAML(t, busyboxHostPortPod("quick", port)))
		time.Sleep(time.Duration(i%8) * 15 * time.Millisecond)
		e.deleteAndCheckNetwork(60*time.Second, fmt.Sprintf("cycle %d", i), "--all")
		for _, l := range e.leaks(e.daemonPid()) {
			t.Errorf("cycle %d: leak: %s", i, l)
		}
		if t.Failed() {
			return
		}
	}
}
