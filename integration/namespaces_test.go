package integration

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The seed's definition of a Pod: containers sharing the Network, IPC and UTS namespaces held
// by the pause. Proved on the kernel's own objects: the inodes behind /proc/PID/ns/*.
func TestNamespacesShared(t *testing.T) {
	e := newEnv(t)
	e.runWait(sleepersPod("nspod", "", map[string]int{"one": 3600, "two": 3600}))
	e.waitRunning("nspod", 30*time.Second)
	r := e.inspect("nspod")
	pause := r.Sandbox.Pid
	for _, name := range []string{"one", "two"} {
		pid := r.containerPid(t, name)
		for _, ns := range []string{"net", "ipc", "uts"} {
			if p, c := nsInode(t, pause, ns), nsInode(t, pid, ns); p != c {
				t.Errorf("container %s: %s namespace %s, pause has %s: want shared", name, ns, c, p)
			}
		}
		for _, ns := range []string{"mnt", "pid"} {
			if p, c := nsInode(t, pause, ns), nsInode(t, pid, ns); p == c {
				t.Errorf("container %s: %s namespace %s is the pause's: want its own", name, ns, c)
			}
		}
	}
	// The pod's net namespace is not the host's.
	if nsInode(t, pause, "net") == nsInode(t, os.Getpid(), "net") {
		t.Errorf("pause is in the host's net namespace")
	}
	for _, ns := range []string{"net", "ipc", "uts"} {
		if r.Sandbox.Namespaces[ns] == "" {
			t.Errorf("inspect: sandbox.namespaces.%s missing: %v", ns, r.Sandbox.Namespaces)
		}
	}

	// Standard tools reach the pod's namespaces: the UTS namespace carries the pod name.
	out, err := exec.Command("nsenter", "-t", fmt.Sprint(pause), "-n", "-i", "-u", "hostname").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "nspod" {
		t.Errorf("nsenter -t %d -n -i -u hostname = %q, %v; want nspod", pause, out, err)
	}
	// And what a container sees (exec'd directly, not through sh).
	if out := strings.TrimSpace(e.must("exec", "nspod", "-c", "two", "--", "hostname")); out != "nspod" {
		t.Errorf("hostname inside container two = %q, want nspod", out)
	}
}

func TestNamespacesShareProcessNamespace(t *testing.T) {
	e := newEnv(t)
	e.runWait(sleepersPod("sharedpid", "shareProcessNamespace: true", map[string]int{"one": 3600, "two": 3601}))
	e.waitRunning("sharedpid", 30*time.Second)
	r := e.inspect("sharedpid")
	pause := r.Sandbox.Pid
	for _, name := range []string{"one", "two"} {
		pid := r.containerPid(t, name)
		for _, ns := range []string{"net", "ipc", "uts", "pid"} {
			if p, c := nsInode(t, pause, ns), nsInode(t, pid, ns); p != c {
				t.Errorf("container %s: %s namespace %s, pause has %s: want shared", name, ns, c, p)
			}
		}
		if p, c := nsInode(t, pause, "mnt"), nsInode(t, pid, "mnt"); p == c {
			t.Errorf("container %s shares the pause's mnt namespace", name)
		}
	}
	// ps in one container sees the pause as PID 1 and the other container's process.
	out := e.must("exec", "sharedpid", "-c", "one", "--", "ps")
	var pid1 string
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) > 0 && f[0] == "1" {
			pid1 = l
		}
	}
	if !strings.Contains(pid1, "pause") {
		t.Errorf("ps inside container one: PID 1 is %q, want the pause; full output:\n%s", pid1, out)
	}
	if !strings.Contains(out, "sleep 3601") {
		t.Errorf("ps inside container one does not show container two's sleep 3601:\n%s", out)
	}
}

// The pause runs unprivileged: uid 65535, no effective capabilities.
func TestPauseUnprivileged(t *testing.T) {
	e := newEnv(t)
	e.runWait(sleepersPod("pausepod", "", map[string]int{"main": 3600}))
	pause := e.inspect("pausepod").Sandbox.Pid
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pause))
	if err != nil {
		t.Fatal(err)
	}
	fields := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok {
			fields[k] = strings.TrimSpace(v)
		}
	}
	if uid := strings.Fields(fields["Uid"]); len(uid) == 0 || uid[0] != "65535" {
		t.Errorf("pause Uid = %q, want 65535", fields["Uid"])
	}
	if fields["CapEff"] != "0000000000000000" {
		t.Errorf("pause CapEff = %q, want none", fields["CapEff"])
	}
	if fields["NoNewPrivs"] != "1" {
		t.Errorf("pause NoNewPrivs = %q, want 1", fields["NoNewPrivs"])
	}
	// Its mount namespace holds its read-only root, an empty read-only /dev and /pause: no
	// /proc, /sys or device nodes.
	mi, err := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", pause))
	if err != nil {
		t.Fatal(err)
	}
	var points []string
	for _, l := range strings.Split(strings.TrimSpace(string(mi)), "\n") {
		f := strings.Fields(l) // id parent dev root mountpoint options ...
		if len(f) < 6 {
			t.Fatalf("mountinfo line %q", l)
		}
		points = append(points, f[4])
		if !slices.Contains(strings.Split(f[5], ","), "ro") {
			t.Errorf("pause mount %s is not read-only: %s", f[4], l)
		}
	}
	if want := []string{"/", "/dev", "/pause"}; !slices.Equal(points, want) {
		t.Errorf("pause mounts %v, want %v", points, want)
	}
	if ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/root/dev", pause)); err != nil || len(ents) != 0 {
		t.Errorf("pause /dev: %d entries, %v; want empty", len(ents), err)
	}
}

// hostNetwork/hostIPC/hostPID put the containers in the host's namespaces instead.
func TestHostNamespaces(t *testing.T) {
	e := newEnv(t)
	e.runWait(sleepersPod("hostns", "hostNetwork: true\n  hostIPC: true\n  hostPID: true", map[string]int{"main": 3600}))
	r := e.inspect("hostns")
	pid := r.containerPid(t, "main")
	for _, ns := range []string{"net", "ipc", "pid"} {
		if c, h := nsInode(t, pid, ns), nsInode(t, os.Getpid(), ns); c != h {
			t.Errorf("hostNetwork/IPC/PID pod: container %s namespace %s, host %s", ns, c, h)
		}
	}
	if c, h := nsInode(t, pid, "mnt"), nsInode(t, os.Getpid(), "mnt"); c == h {
		t.Errorf("container shares the host's mount namespace")
	}
}

// With a shared PID namespace the pause is PID 1: orphans of the containers are reparented to
// it and it must reap them, or zombies pile up.
func TestPauseReapsZombies(t *testing.T) {
	e := newEnv(t)
	e.runWait(`apiVersion: v1
kind: Pod
metadata:
  name: reaper
spec:
  shareProcessNamespace: true
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "for i in 1 2 3 4 5; do (sleep 0.2 &); done; exec sleep 3600"]
`)
	pause := e.inspect("reaper").Sandbox.Pid
	pidns := nsInode(t, pause, "pid")
	time.Sleep(1500 * time.Millisecond) // the orphaned sleeps have exited by now
	ents, _ := os.ReadDir("/proc")
	for _, en := range ents {
		pid, err := strconv.Atoi(en.Name())
		if err != nil {
			continue
		}
		ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid))
		if err != nil || ns != pidns {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue // gone meanwhile
		}
		if st := string(b); strings.Contains(st[strings.LastIndexByte(st, ')')+1:], " Z ") {
			t.Errorf("zombie pid %d in the pod's pid namespace: the pause does not reap", pid)
		}
	}
}
