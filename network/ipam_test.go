package network

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func testIPAM(t *testing.T, dir, cidr string) *ipam {
	t.Helper()
	_, subnet, err := net.ParseCIDR(cidr)
	if err != nil {
		t.Fatal(err)
	}
	subnet.IP = subnet.IP.To4()
	a, err := newIPAM(dir, subnet)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestIPAMSkipsReservedAndExhausts(t *testing.T) {
	a := testIPAM(t, t.TempDir(), "10.9.0.0/29") // hosts .1-.6; .1 is the gateway
	if got := a.gateway().String(); got != "10.9.0.1" {
		t.Fatalf("gateway %s", got)
	}
	seen := map[string]bool{}
	for i := 0; i < 5; i++ {
		ip, fresh, err := a.allocate(fmt.Sprint("sb", i))
		if err != nil || !fresh {
			t.Fatalf("allocate %d: %v %v", i, ip, err)
		}
		if s := ip.String(); s == "10.9.0.0" || s == "10.9.0.1" || s == "10.9.0.7" || seen[s] {
			t.Fatalf("bad address %s", s)
		}
		seen[ip.String()] = true
	}
	if _, _, err := a.allocate("one-too-many"); err == nil {
		t.Fatal("allocated past the end of the range")
	}
	// Idempotent per sandbox.
	ip1, _ := a.list()
	again, fresh, err := a.allocate("sb2")
	if err != nil || fresh || !again.Equal(ip1["sb2"]) {
		t.Fatalf("re-allocate: %v %v %v", again, fresh, err)
	}
	// Released addresses come back, but not before the others (round robin).
	if err := a.release("sb0"); err != nil {
		t.Fatal(err)
	}
	if err := a.release("sb0"); err != nil {
		t.Fatalf("double release: %v", err)
	}
	ip, _, err := a.allocate("new")
	if err != nil || !ip.Equal(ip1["sb0"]) {
		t.Fatalf("after release got %v, %v; want %s", ip, err, ip1["sb0"])
	}
}

func TestIPAMRoundRobin(t *testing.T) {
	a := testIPAM(t, t.TempDir(), "10.9.0.0/24")
	ip1, _, _ := a.allocate("a")
	_ = a.release("a")
	ip2, _, _ := a.allocate("b")
	if ip1.Equal(ip2) {
		t.Fatalf("just released address %s reused at once", ip1)
	}
}

// Many goroutines, each through its own ipam value (as separate processes would be, sharing
// only the directory and its flock), get distinct addresses.
func TestIPAMConcurrent(t *testing.T) {
	dir := t.TempDir()
	const n = 40
	ips := make([]net.IP, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := testIPAM(t, dir, "10.9.0.0/24")
			ips[i], _, errs[i] = a.allocate(fmt.Sprint("sb", i))
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for i := range ips {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if seen[ips[i].String()] {
			t.Fatalf("%s given twice", ips[i])
		}
		seen[ips[i].String()] = true
	}
	all, err := testIPAM(t, dir, "10.9.0.0/24").list()
	if err != nil || len(all) != n {
		t.Fatalf("list: %d, %v", len(all), err)
	}
	// State layout: <dir>/<cidr>/<ip> holding the sandbox ID; no temp files left.
	entries, _ := os.ReadDir(filepath.Join(dir, "10.9.0.0-24"))
	for _, e := range entries {
		if e.Name()[0] == '.' {
			t.Errorf("temp file left: %s", e.Name())
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "10.9.0.0-24", ips[0].String()))
	if err != nil || string(b) != "sb0" {
		t.Fatalf("state file: %q %v", b, err)
	}
}
