package nsfs

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestNewPodNamespaces: new net, ipc and uts namespaces are pinned at their paths, differ
// from ours, hold the hostname and sysctls set inside them, and none of our threads is left
// in them; a failed sysctl leaves nothing pinned; Unpin removes them.
func TestNewPodNamespaces(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	dir := t.TempDir()
	ns := PodNamespaces{
		Net: filepath.Join(dir, "netns", "pod"), IPC: filepath.Join(dir, "ns", "ipc"), UTS: filepath.Join(dir, "ns", "uts"),
		Hostname: "pinned-pod",
		Sysctls:  map[string]string{"net.ipv4.ip_unprivileged_port_start": "80", "kernel.shm_rmid_forced": "1"},
	}
	own := map[string]string{}
	for _, k := range []string{"net", "ipc", "uts"} {
		l, err := os.Readlink("/proc/self/ns/" + k)
		if err != nil {
			t.Fatal(err)
		}
		own[k] = l
	}
	if err := NewPodNamespaces(ns); err != nil {
		t.Fatal(err)
	}
	pins := map[string]string{"net": ns.Net, "ipc": ns.IPC, "uts": ns.UTS}
	defer func() {
		for _, p := range pins {
			Unpin(p) //nolint:errcheck
		}
	}()
	for k, p := range pins {
		pinSt, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		ownSt, err := os.Stat("/proc/self/ns/" + k)
		if err != nil {
			t.Fatal(err)
		}
		if os.SameFile(ownSt, pinSt) {
			t.Errorf("the pinned %s namespace is our own", k)
		}
		tasks, _ := filepath.Glob("/proc/self/task/*/ns/" + k)
		for _, task := range tasks {
			if l, err := os.Readlink(task); err == nil && l != own[k] {
				t.Errorf("thread %s is in %s, not in our namespace %s", task, l, own[k])
			}
		}
	}
	// Seen from inside, by a process of its own (nsenter of util-linux).
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--uts=" + ns.UTS, "hostname"}, "pinned-pod"},
		{[]string{"--net=" + ns.Net, "cat", "/proc/sys/net/ipv4/ip_unprivileged_port_start"}, "80"},
		{[]string{"--ipc=" + ns.IPC, "cat", "/proc/sys/kernel/shm_rmid_forced"}, "1"},
	} {
		out, err := exec.Command("nsenter", c.args...).CombinedOutput()
		if got := strings.TrimSpace(string(out)); err != nil || got != c.want {
			t.Errorf("nsenter %v: %q, %v; want %q", c.args, got, err, c.want)
		}
	}
	if h, _ := os.Hostname(); h == "pinned-pod" {
		t.Error("the host's hostname was changed")
	}
	if err := LoopbackUp(ns.Net); err != nil {
		t.Errorf("loopback up in the new namespace: %v", err)
	}
	if err := NewPodNamespaces(PodNamespaces{Net: ns.Net}); err == nil {
		t.Error("a second namespace on the same path")
	}
	for k, p := range pins {
		if err := Unpin(p); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s after Unpin: %v", k, err)
		}
	}

	bad := PodNamespaces{Net: filepath.Join(dir, "bad", "net"), UTS: filepath.Join(dir, "bad", "uts"), Hostname: "x",
		Sysctls: map[string]string{"net.ipv4.no_such_sysctl": "1"}}
	err := NewPodNamespaces(bad)
	if err == nil || !strings.Contains(err.Error(), "net.ipv4.no_such_sysctl") {
		t.Errorf("unknown sysctl: %v, want an error naming it", err)
	}
	for _, p := range []string{bad.Net, bad.UTS} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s left after a failed NewPodNamespaces: %v", p, err)
		}
	}
}

func TestSysctlPath(t *testing.T) {
	for _, tt := range []struct{ name, want string }{
		{"kernel.shm_rmid_forced", "/proc/sys/kernel/shm_rmid_forced"},
		{"net.ipv4.conf.eth0/100.rp_filter", "/proc/sys/net/ipv4/conf/eth0.100/rp_filter"},
	} {
		if got := SysctlPath(tt.name); got != tt.want {
			t.Errorf("SysctlPath(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}
