package integration

// securityContext, proved from inside the running containers: every check execs the command
// directly (not through sh, whose applets would run in the shell's process) and reads what
// the kernel says of that process (/proc/self/status, id, errno of a refused call).

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
)

// inside runs a command in a container of a pod and returns its stdout, stderr and exit code.
func (e *env) inside(pod, container string, args ...string) (string, string, int) {
	return e.podrun(append([]string{"exec", pod, "-c", container, "--"}, args...)...)
}

// procStatus is the container process's own /proc/self/status (cat reads its own).
func (e *env) procStatus(pod, container string) map[string]string {
	e.t.Helper()
	out, stderr, code := e.inside(pod, container, "cat", "/proc/self/status")
	if code != 0 {
		e.t.Fatalf("%s/%s: cat /proc/self/status: exit %d: %s", pod, container, code, stderr)
	}
	return parseStatus(out)
}

// parseStatus maps the keys of a /proc/<pid>/status file to their trimmed values.
func parseStatus(s string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[k] = strings.Join(strings.Fields(v), " ")
		}
	}
	return m
}

// wantStatus checks fields of a /proc status map.
func wantStatus(t *testing.T, what string, st map[string]string, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if st[k] != v {
			t.Errorf("%s: %s = %q, want %q", what, k, st[k], v)
		}
	}
}

// restartDaemonWith stops the env's daemon and starts it again with extra flags (the
// harness's flags first). Pods keep running across it.
func (e *env) restartDaemonWith(extra ...string) {
	e.t.Helper()
	e.stopDaemon()
	logf, err := os.OpenFile(e.daemonLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		e.t.Fatalf("daemon log: %v", err)
	}
	defer logf.Close()
	cmd := exec.Command(podrunBin(), append(e.daemonArgs(), extra...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		e.t.Fatalf("start daemon %v: %v", extra, err)
	}
	done := make(chan struct{})
	e.daemon, e.daemonDone = cmd, done
	go func() { _ = cmd.Wait(); close(done) }()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, _, code := e.podrun("get", "pods"); code == 0 {
			return
		}
		if e.daemonPid() == 0 || time.Now().After(deadline) {
			e.t.Fatalf("daemon with %v did not come up:\n%s", extra, e.daemonLogTail(40))
		}
	}
}

// sleeper is a busybox container that sleeps, with a securityContext (YAML, indented for a
// container) and extra container fields.
func sleeper(name, securityContext, extra string) string {
	s := fmt.Sprintf("  - name: %s\n    image: busybox\n    imagePullPolicy: IfNotPresent\n    command: [sleep, \"3600\"]\n", name)
	if securityContext != "" {
		s += "    securityContext: " + securityContext + "\n"
	}
	return s + extra
}

// securityPod renders a pod: spec fields (YAML at spec level, e.g. "securityContext: {...}")
// then its containers.
func securityPod(name, specExtra string, containers ...string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\nspec:\n  terminationGracePeriodSeconds: 1\n%s  containers:\n%s",
		name, indentSpec(specExtra), strings.Join(containers, ""))
}

func indentSpec(s string) string {
	if s == "" {
		return ""
	}
	return "  " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n  ") + "\n"
}

// runAsUser/runAsGroup/supplementalGroups/fsGroup at pod level, overridden per container;
// supplementalGroupsPolicy Merge adds the image's /etc/group memberships (busybox test image:
// user app 1000, wheel:x:10:app), Strict does not; fsGroup owns an emptyDir with setgid and a
// non-root user can write there, files getting the fsGroup.
func TestSecurityIdentity(t *testing.T) {
	e := newEnv(t)
	vol := "    volumeMounts: [{name: data, mountPath: /data}]\n"
	e.runWait(securityPod("ids",
		"securityContext: {runAsUser: 1000, runAsGroup: 3000, supplementalGroups: [4000], fsGroup: 2000}\nvolumes: [{name: data, emptyDir: {}}]\n",
		sleeper("inherit", "", vol),
		sleeper("override", "{runAsUser: 2001, runAsGroup: 2002}", vol)))
	e.waitRunning("ids", 30*time.Second)

	wantStatus(t, "inherit", e.procStatus("ids", "inherit"), map[string]string{
		"Uid": "1000 1000 1000 1000", "Gid": "3000 3000 3000 3000", "Groups": "10 2000 3000 4000",
		"CapEff": "0000000000000000",
	})
	if out, _, _ := e.inside("ids", "inherit", "id"); strings.TrimSpace(out) != "uid=1000(app) gid=3000 groups=10(wheel),2000,3000,4000" {
		t.Errorf("inherit: id = %q", out)
	}
	wantStatus(t, "override", e.procStatus("ids", "override"), map[string]string{
		"Uid": "2001 2001 2001 2001", "Gid": "2002 2002 2002 2002", "Groups": "2000 2002 4000",
	})
	if out, _, _ := e.inside("ids", "override", "id"); strings.TrimSpace(out) != "uid=2001 gid=2002 groups=2000,2002,4000" {
		t.Errorf("override: id = %q", out)
	}

	// fsGroup: the emptyDir is group 2000, setgid, group-writable; uid 1000 can write in it.
	if out, stderr, code := e.inside("ids", "inherit", "stat", "-c", "%g %A", "/data"); strings.TrimSpace(out) != "2000 drwxrwsrwx" {
		t.Errorf("stat /data = %q (exit %d %s), want 2000 drwxrwsrwx", out, code, stderr)
	}
	if _, stderr, code := e.inside("ids", "inherit", "touch", "/data/f"); code != 0 {
		t.Fatalf("uid 1000 cannot write the fsGroup emptyDir: exit %d %s", code, stderr)
	}
	if out, _, _ := e.inside("ids", "override", "stat", "-c", "%u %g", "/data/f"); strings.TrimSpace(out) != "1000 2000" {
		t.Errorf("file made in the fsGroup emptyDir: owner %q, want 1000 2000 (setgid gives the group)", out)
	}

	for _, c := range []struct{ policy, groups string }{{"Merge", "10 1000"}, {"Strict", "1000"}} {
		name := "sgp-" + strings.ToLower(c.policy)
		e.runWait(securityPod(name, "securityContext: {runAsUser: 1000, runAsGroup: 1000, supplementalGroupsPolicy: "+c.policy+"}\n",
			sleeper("main", "", "")))
		e.waitRunning(name, 30*time.Second)
		wantStatus(t, "supplementalGroupsPolicy "+c.policy, e.procStatus(name, "main"), map[string]string{"Groups": c.groups})
	}
}

// runAsNonRoot against a root image: the container waits in CreateContainerConfigError with
// the kubelet's message and no process of it ever runs; with a numeric runAsUser it runs.
func TestSecurityRunAsNonRoot(t *testing.T) {
	e := newEnv(t)
	e.create(securityPod("nonroot", "securityContext: {runAsNonRoot: true}\n", sleeper("main", "", "")))
	p := e.waitFor("nonroot", 30*time.Second, "CreateContainerConfigError", func(p *v1.Pod) bool {
		cs := containerStatus(p, "main")
		return cs != nil && cs.State.Waiting != nil && cs.State.Waiting.Reason == "CreateContainerConfigError"
	})
	cs := containerStatus(p, "main")
	want := fmt.Sprintf("container has runAsNonRoot and image will run as root (pod: \"nonroot_default(%s)\", container: main)", p.UID)
	if cs.State.Waiting.Message != want {
		t.Errorf("waiting message %q, want %q", cs.State.Waiting.Message, want)
	}
	if cs.ContainerID != "" || cs.State.Running != nil {
		t.Errorf("a container was made: %+v", cs)
	}
	if got := e.statusColumn("nonroot"); got != "CreateContainerConfigError" {
		t.Errorf("get pod STATUS = %q, want CreateContainerConfigError", got)
	}
	for _, c := range e.inspect("nonroot").Containers {
		if c.Pid > 0 {
			t.Errorf("container %s has a process (pid %d)", c.Name, c.Pid)
		}
	}

	e.runWait(securityPod("nonroot-ok", "securityContext: {runAsNonRoot: true, runAsUser: 1000}\n", sleeper("main", "", "")))
	e.waitRunning("nonroot-ok", 30*time.Second)
	wantStatus(t, "runAsNonRoot with runAsUser 1000", e.procStatus("nonroot-ok", "main"), map[string]string{"Uid": "1000 1000 1000 1000"})
}

// Capabilities, privileged, allowPrivilegeEscalation, seccomp and the hardened default: masks
// read from /proc/self/status, and what each container may do.
func TestSecurityCapabilitiesAndPrivileged(t *testing.T) {
	e := newEnv(t)
	e.runWait(securityPod("caps", "",
		sleeper("plain", "", ""),
		sleeper("dropall", "{capabilities: {drop: [ALL]}}", ""),
		sleeper("some", "{capabilities: {drop: [ALL], add: [NET_BIND_SERVICE, CAP_CHOWN]}}", ""),
		sleeper("addsys", "{capabilities: {add: [SYS_ADMIN], drop: [CAP_KILL]}}", ""),
		sleeper("nnp", "{allowPrivilegeEscalation: false}", ""),
		sleeper("rtdefault", "{seccompProfile: {type: RuntimeDefault}}", ""),
		sleeper("unconfined", "{seccompProfile: {type: Unconfined}}", ""),
		sleeper("priv", "{privileged: true}", "")))
	e.waitRunning("caps", 30*time.Second)

	daemonStatus, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", e.daemonPid()))
	if err != nil {
		t.Fatal(err)
	}
	// Privileged gets every capability the daemon holds (this VM withholds CAP_SYS_RESOURCE).
	// Capabilities past CAP_CHECKPOINT_RESTORE (40) are not known to podrun: masked off.
	hostMask, err := strconv.ParseUint(parseStatus(string(daemonStatus))["CapPrm"], 16, 64)
	if err != nil {
		t.Fatalf("daemon CapPrm: %v", err)
	}
	hostCaps := fmt.Sprintf("%016x", hostMask&(1<<41-1))

	for _, c := range []struct {
		name string
		want map[string]string
	}{
		// containerd's default set (docker's): chown dac_override fowner fsetid kill setgid
		// setuid setpcap net_bind_service net_raw sys_chroot mknod audit_write setfcap.
		{"plain", map[string]string{"CapBnd": "00000000a80425fb", "CapEff": "00000000a80425fb", "NoNewPrivs": "0", "Seccomp": "0"}},
		{"dropall", map[string]string{"CapBnd": "0000000000000000", "CapEff": "0000000000000000"}},
		{"some", map[string]string{"CapBnd": "0000000000000401", "CapEff": "0000000000000401"}},
		{"addsys", map[string]string{"CapBnd": "00000000a82425db", "CapEff": "00000000a82425db"}},
		{"nnp", map[string]string{"NoNewPrivs": "1"}},
		{"rtdefault", map[string]string{"Seccomp": "2", "NoNewPrivs": "0"}},
		{"unconfined", map[string]string{"Seccomp": "0"}},
		{"priv", map[string]string{"CapBnd": hostCaps, "CapEff": hostCaps, "Seccomp": "0", "NoNewPrivs": "0"}},
	} {
		wantStatus(t, c.name, e.procStatus("caps", c.name), c.want)
	}

	// mount: the default set has no CAP_SYS_ADMIN; privileged mounts a tmpfs.
	if _, stderr, code := e.inside("caps", "plain", "mount", "-t", "tmpfs", "none", "/tmp"); code == 0 || !strings.Contains(stderr, "permission denied") {
		t.Errorf("default container: mount exit %d %q, want permission denied", code, stderr)
	}
	if _, stderr, code := e.inside("caps", "priv", "mount", "-t", "tmpfs", "none", "/tmp"); code != 0 {
		t.Errorf("privileged container: mount tmpfs: exit %d %s", code, stderr)
	}
	// unshare -U: refused by RuntimeDefault seccomp (the default profile denies CLONE_NEWUSER
	// without CAP_SYS_ADMIN).
	if _, stderr, code := e.inside("caps", "rtdefault", "unshare", "-U", "true"); code == 0 || !strings.Contains(stderr, "Operation not permitted") {
		t.Errorf("RuntimeDefault: unshare -U exit %d %q, want Operation not permitted", code, stderr)
	}
	// Masked paths: /proc/kcore is not in this VM's kernel (no CONFIG_PROC_KCORE), so the
	// proof is /proc/timer_list and /proc/keys, masked the same way (a /dev/null bind mount).
	for _, path := range []string{"/proc/timer_list", "/proc/keys"} {
		if !fileExists(path) {
			continue
		}
		if out, stderr, code := e.inside("caps", "plain", "cat", path); code != 0 || out != "" {
			t.Errorf("default container: cat %s: exit %d %q %q, want empty (masked)", path, code, firstLine(out), stderr)
		}
	}
	if out, _, code := e.inside("caps", "priv", "cat", "/proc/timer_list"); code != 0 || !strings.Contains(out, "Timer List") {
		t.Errorf("privileged container: /proc/timer_list exit %d %q, want the real file", code, firstLine(out))
	}
	if fileExists("/proc/kcore") {
		// wc reads the file itself: masked, it is /dev/null.
		if out, _, _ := e.inside("caps", "plain", "wc", "-c", "/proc/kcore"); !strings.HasPrefix(strings.TrimSpace(out), "0 ") {
			t.Errorf("default container reads /proc/kcore: %q", out)
		}
	}
	// /proc/sys is read-only (an IPC sysctl: the pod's own namespace, the host is untouched).
	if _, stderr, code := e.inside("caps", "plain", "sysctl", "-w", "kernel.shm_rmid_forced=1"); code == 0 || !strings.Contains(stderr, "Read-only file system") {
		t.Errorf("default container: sysctl -w exit %d %q, want Read-only file system", code, stderr)
	}
	if _, stderr, code := e.inside("caps", "priv", "sysctl", "-w", "kernel.shm_rmid_forced=1"); code != 0 {
		t.Errorf("privileged container: sysctl -w: exit %d %s", code, stderr)
	}
	// /sys: read-only by default, writable for privileged (cat reads its own mountinfo).
	for c, wantRO := range map[string]bool{"plain": true, "priv": false} {
		out, _, _ := e.inside("caps", c, "cat", "/proc/self/mountinfo")
		if ro, ok := mountReadOnly(out, "/sys"); !ok || ro != wantRO {
			t.Errorf("%s: /sys read-only = %v (found %v), want %v", c, ro, ok, wantRO)
		}
	}
	// Devices: the standard set by default; the host's with privileged.
	for _, dev := range []string{"loop0", "kmsg", "loop-control"} {
		if !fileExists("/dev/" + dev) {
			continue
		}
		if _, _, code := e.inside("caps", "plain", "stat", "/dev/"+dev); code == 0 {
			t.Errorf("default container sees host device /dev/%s", dev)
		}
		if _, stderr, code := e.inside("caps", "priv", "stat", "/dev/"+dev); code != 0 {
			t.Errorf("privileged container does not see /dev/%s: %s", dev, stderr)
		}
	}
	for _, dev := range []string{"null", "zero", "full", "random", "urandom", "tty"} {
		if _, stderr, code := e.inside("caps", "plain", "stat", "/dev/"+dev); code != 0 {
			t.Errorf("default container lacks /dev/%s: %s", dev, stderr)
		}
	}
}

// mountReadOnly reports whether the last mount at target in a mountinfo is read-only (its
// per-mount options, field 6), and whether there is one.
func mountReadOnly(mountinfo, target string) (ro, found bool) {
	for _, line := range strings.Split(mountinfo, "\n") {
		f := strings.Fields(line)
		if len(f) > 5 && f[4] == target {
			ro, found = strings.Contains(","+f[5]+",", ",ro,"), true
		}
	}
	return ro, found
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// readOnlyRootFilesystem: / refuses writes, an emptyDir stays writable.
func TestSecurityReadOnlyRootFilesystem(t *testing.T) {
	e := newEnv(t)
	e.runWait(securityPod("ro", "volumes: [{name: scratch, emptyDir: {}}]\n",
		sleeper("main", "{readOnlyRootFilesystem: true}", "    volumeMounts: [{name: scratch, mountPath: /scratch}]\n"),
		sleeper("rw", "", "")))
	e.waitRunning("ro", 30*time.Second)
	if _, stderr, code := e.inside("ro", "main", "touch", "/x"); code == 0 || !strings.Contains(stderr, "Read-only file system") {
		t.Errorf("touch /x: exit %d %q, want Read-only file system", code, stderr)
	}
	if _, stderr, code := e.inside("ro", "main", "touch", "/scratch/x"); code != 0 {
		t.Errorf("touch /scratch/x on the emptyDir: exit %d %s", code, stderr)
	}
	if _, stderr, code := e.inside("ro", "rw", "touch", "/x"); code != 0 {
		t.Errorf("without readOnlyRootFilesystem, touch /x: exit %d %s", code, stderr)
	}
}

// procMount Unmasked: the masked /proc paths are readable. (Kubernetes accepts Unmasked only
// with hostUsers: false; podrun has no user namespaces and accepts it as asked.)
func TestSecurityProcMountUnmasked(t *testing.T) {
	if !fileExists("/proc/timer_list") {
		t.Skip("no /proc/timer_list on this kernel")
	}
	e := newEnv(t)
	e.runWait(securityPod("procmount", "",
		sleeper("unmasked", "{procMount: Unmasked}", ""),
		sleeper("masked", "{procMount: Default}", "")))
	e.waitRunning("procmount", 30*time.Second)
	if out, _, code := e.inside("procmount", "unmasked", "cat", "/proc/timer_list"); code != 0 || !strings.Contains(out, "Timer List") {
		t.Errorf("Unmasked: /proc/timer_list exit %d %q", code, firstLine(out))
	}
	if out, _, _ := e.inside("procmount", "masked", "cat", "/proc/timer_list"); out != "" {
		t.Errorf("Default: /proc/timer_list readable: %q", firstLine(out))
	}
}

// Pod sysctls are set in the pod's namespaces and seen inside; an unsafe one is refused at
// `podrun run` with its field path unless the daemon allows it.
func TestSecuritySysctls(t *testing.T) {
	e := newEnv(t)
	e.runWait(securityPod("sysctls", "securityContext:\n  sysctls:\n  - {name: kernel.shm_rmid_forced, value: \"1\"}\n  - {name: net.ipv4.ip_unprivileged_port_start, value: \"80\"}\n",
		sleeper("main", "", "")))
	e.waitRunning("sysctls", 30*time.Second)
	for path, want := range map[string]string{
		"/proc/sys/kernel/shm_rmid_forced":              "1",
		"/proc/sys/net/ipv4/ip_unprivileged_port_start": "80",
	} {
		if out, stderr, _ := e.inside("sysctls", "main", "cat", path); strings.TrimSpace(out) != want {
			t.Errorf("%s = %q (%s), want %s", path, out, stderr, want)
		}
	}

	unsafe := securityPod("unsafe", "securityContext:\n  sysctls: [{name: net.core.somaxconn, value: \"1024\"}]\n", sleeper("main", "", ""))
	manifest := writeYAML(t, unsafe)
	_, stderr, code := e.podrun("run", manifest)
	if code == 0 || !strings.Contains(stderr, "spec.securityContext.sysctls[0].name") || !strings.Contains(stderr, "net.core.somaxconn") {
		t.Errorf("unsafe sysctl: exit %d, stderr %q; want refused with the field path", code, stderr)
	}
	if _, err := e.getPod("unsafe"); err == nil {
		t.Errorf("refused pod was created")
	}

	e.restartDaemonWith("--allowed-unsafe-sysctls", "net.core.*")
	e.runWait(unsafe)
	e.waitRunning("unsafe", 30*time.Second)
	if out, _, _ := e.inside("unsafe", "main", "cat", "/proc/sys/net/core/somaxconn"); strings.TrimSpace(out) != "1024" {
		t.Errorf("allowed unsafe sysctl: somaxconn = %q, want 1024", out)
	}
}

// seccompProfile Localhost from --seccomp-profile-root, and --seccomp-default.
func TestSecuritySeccompDaemonFlags(t *testing.T) {
	e := newEnv(t)
	profiles := filepath.Join(e.dir, "seccomp")
	if err := os.MkdirAll(filepath.Join(profiles, "profiles"), 0o755); err != nil {
		t.Fatal(err)
	}
	// Everything allowed except mkdir/mkdirat, which fail with EPERM (errno 1).
	prof := `{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}`
	if err := os.WriteFile(filepath.Join(profiles, "profiles", "nomkdir.json"), []byte(prof), 0o644); err != nil {
		t.Fatal(err)
	}
	e.restartDaemonWith("--seccomp-profile-root", profiles, "--seccomp-default")
	e.runWait(securityPod("seccomp", "",
		sleeper("local", "{seccompProfile: {type: Localhost, localhostProfile: profiles/nomkdir.json}}", ""),
		sleeper("plain", "", ""),
		sleeper("unconfined", "{seccompProfile: {type: Unconfined}}", ""),
		sleeper("priv", "{privileged: true}", "")))
	e.waitRunning("seccomp", 30*time.Second)
	wantStatus(t, "privileged under --seccomp-default", e.procStatus("seccomp", "priv"), map[string]string{"Seccomp": "0"})
	wantStatus(t, "Localhost", e.procStatus("seccomp", "local"), map[string]string{"Seccomp": "2"})
	if _, stderr, code := e.inside("seccomp", "local", "mkdir", "/tmp/d"); code == 0 || !strings.Contains(stderr, "Operation not permitted") {
		t.Errorf("Localhost profile: mkdir exit %d %q, want Operation not permitted", code, stderr)
	}
	if _, stderr, code := e.inside("seccomp", "plain", "mkdir", "/tmp/d"); code != 0 {
		t.Errorf("--seccomp-default container: mkdir: exit %d %s", code, stderr)
	}
	wantStatus(t, "--seccomp-default", e.procStatus("seccomp", "plain"), map[string]string{"Seccomp": "2"})
	wantStatus(t, "Unconfined under --seccomp-default", e.procStatus("seccomp", "unconfined"), map[string]string{"Seccomp": "0"})
	if _, _, code := e.inside("seccomp", "plain", "unshare", "-U", "true"); code == 0 {
		t.Errorf("--seccomp-default container could unshare -U")
	}
}

// appArmorProfile and seLinuxOptions on a host without AppArmor/SELinux: the container runs
// and a Warning event says the profile is not applied.
func TestSecurityMACProfilesWarn(t *testing.T) {
	if b, _ := os.ReadFile("/sys/module/apparmor/parameters/enabled"); strings.HasPrefix(string(b), "Y") {
		t.Skip("AppArmor is enabled on this host")
	}
	if fileExists("/sys/fs/selinux/enforce") {
		t.Skip("SELinux is enabled on this host")
	}
	e := newEnv(t)
	e.runWait(securityPod("mac", "securityContext: {appArmorProfile: {type: RuntimeDefault}}\n",
		sleeper("main", "{seLinuxOptions: {level: \"s0:c123,c456\"}}", "")))
	e.waitRunning("mac", 30*time.Second)
	out := e.must("describe", "pod", "mac")
	for _, want := range []string{"Warning  AppArmorNotEnabled", "AppArmor is not enabled on the host",
		"Warning  SELinuxNotEnabled", "SELinux is not enabled on the host"} {
		if !strings.Contains(out, want) {
			t.Errorf("describe pod lacks %q:\n%s", want, out)
		}
	}
}

// The pause: uid 65535, no capabilities, no_new_privs, a read-only root.
func TestSecurityPause(t *testing.T) {
	e := newEnv(t)
	e.runWait(securityPod("pausesec", "", sleeper("main", "", "")))
	pid := e.inspect("pausesec").Sandbox.Pid
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "pause", parseStatus(string(b)), map[string]string{
		"Uid": "65535 65535 65535 65535", "Gid": "65535 65535 65535 65535",
		"CapEff": "0000000000000000", "CapPrm": "0000000000000000", "CapBnd": "0000000000000000", "NoNewPrivs": "1",
	})
	mi, err := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", pid))
	if err != nil {
		t.Fatal(err)
	}
	if ro, found := mountReadOnly(string(mi), "/"); !found || !ro {
		t.Errorf("pause root mount read-only = %v (found %v):\n%s", ro, found, mi)
	}
}

// Impossible or conflicting securityContexts are refused at `podrun run` with the field path,
// a non-zero exit, and nothing created.
func TestSecurityValidation(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		name, spec, sc, wantPath string
	}{
		{"privileged-no-escalation", "", "{privileged: true, allowPrivilegeEscalation: false}", "spec.containers[0].securityContext: Invalid value"},
		{"sysadmin-no-escalation", "", "{allowPrivilegeEscalation: false, capabilities: {add: [CAP_SYS_ADMIN]}}", "spec.containers[0].securityContext: Invalid value"},
		{"unknown-cap", "", "{capabilities: {add: [NET_FOO]}}", "spec.containers[0].securityContext.capabilities.add[0]"},
		{"unknown-drop", "", "{capabilities: {drop: [CAP_NOPE]}}", "spec.containers[0].securityContext.capabilities.drop[0]"},
		{"negative-uid", "", "{runAsUser: -1}", "spec.containers[0].securityContext.runAsUser"},
		{"negative-gid", "securityContext: {runAsGroup: -5}\n", "", "spec.securityContext.runAsGroup"},
		{"negative-fsgroup", "securityContext: {fsGroup: -1}\n", "", "spec.securityContext.fsGroup"},
		{"negative-supplemental", "securityContext: {supplementalGroups: [1, -2]}\n", "", "spec.securityContext.supplementalGroups[1]"},
		{"windows-pod", "securityContext: {windowsOptions: {runAsUserName: ContainerUser}}\n", "", "spec.securityContext.windowsOptions"},
		{"windows-container", "", "{windowsOptions: {hostProcess: false}}", "spec.containers[0].securityContext.windowsOptions"},
		{"localhost-no-profile", "", "{seccompProfile: {type: Localhost}}", "spec.containers[0].securityContext.seccompProfile.localhostProfile"},
		{"localhost-escapes", "", "{seccompProfile: {type: Localhost, localhostProfile: ../../etc/x.json}}", "spec.containers[0].securityContext.seccompProfile.localhostProfile"},
		{"seccomp-bad-type", "securityContext: {seccompProfile: {type: Strict}}\n", "", "spec.securityContext.seccompProfile.type"},
		{"procmount-bad", "", "{procMount: Half}", "spec.containers[0].securityContext.procMount"},
		{"sysctl-node-wide", "securityContext: {sysctls: [{name: kernel.panic, value: \"1\"}]}\n", "", "spec.securityContext.sysctls[0].name"},
		{"sysctl-bad-name", "securityContext: {sysctls: [{name: \"Net..x\", value: \"1\"}]}\n", "", "spec.securityContext.sysctls[0].name"},
		{"sgp-bad", "securityContext: {supplementalGroupsPolicy: Some}\n", "", "spec.securityContext.supplementalGroupsPolicy"},
	} {
		t.Run(c.name, func(t *testing.T) {
			manifest := writeYAML(t, securityPod(c.name, c.spec, sleeper("main", c.sc, "")))
			out, stderr, code := e.podrun("run", manifest)
			if code == 0 {
				t.Fatalf("accepted: %s", out)
			}
			if !strings.Contains(stderr, c.wantPath) {
				t.Errorf("stderr %q lacks %q", stderr, c.wantPath)
			}
			if _, err := e.getPod(c.name); err == nil {
				t.Errorf("pod %s was created", c.name)
			}
		})
	}
	if out := strings.TrimSpace(e.must("get", "pods", "-o", "name")); out != "" {
		t.Errorf("pods exist after refused runs: %s", out)
	}
}

// The API socket: only root, or members of --socket-group, can talk to the daemon.
func TestSecuritySocketAccess(t *testing.T) {
	e := newEnv(t)
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("no setpriv (util-linux)")
	}
	// The env's directory is 0700: open it for traversal so that the socket's own mode decides.
	if err := os.Chmod(e.dir, 0o711); err != nil {
		t.Fatal(err)
	}
	asNobody := func(groups string, verb ...string) (string, int) {
		if len(verb) == 0 {
			verb = []string{"get", "pods"}
		}
		args := []string{"--reuid=65534", "--regid=65534"}
		if groups == "" {
			args = append(args, "--clear-groups")
		} else {
			args = append(args, "--groups="+groups)
		}
		args = append(append(args, podrunBin(), "--socket", e.socket), verb...)
		out, err := exec.Command("setpriv", args...).CombinedOutput()
		code := 0
		if err != nil {
			code = -1
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
		}
		return string(out), code
	}
	st, err := os.Stat(e.socket)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm()&0o007 != 0 || st.Sys().(*syscall.Stat_t).Gid != 0 {
		t.Errorf("socket mode %v gid %d: want no access for others, group root", st.Mode(), st.Sys().(*syscall.Stat_t).Gid)
	}
	out, code := asNobody("")
	if code == 0 || !strings.Contains(out, "permission denied") || !strings.Contains(out, "--socket-group") {
		t.Errorf("unprivileged user: exit %d %q; want refused with permission denied", code, out)
	}

	// `run` must not try to start a second daemon when the socket refuses the user.
	manifest := writeYAML(t, securityPod("bynobody", "", sleeper("main", "", "")))
	if err := os.Chmod(filepath.Dir(manifest), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(manifest, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, code := asNobody("", "run", manifest); code == 0 || !strings.Contains(out, "--socket-group") {
		t.Errorf("unprivileged run: exit %d %q; want refused with permission denied", code, out)
	}

	// A group made for this test, removed at the end.
	group := "podrun-sec-" + filepath.Base(e.dir)[1:]
	if o, err := exec.Command("groupadd", "--system", group).CombinedOutput(); err != nil {
		t.Skipf("groupadd: %v %s", err, o)
	}
	t.Cleanup(func() { _ = exec.Command("groupdel", group).Run() })
	gidOut, err := exec.Command("getent", "group", group).Output()
	if err != nil {
		t.Fatalf("getent group %s: %v", group, err)
	}
	gid := strings.Split(strings.TrimSpace(string(gidOut)), ":")[2]

	e.restartDaemonWith("--socket-group", group)
	if out, code := asNobody(gid); code != 0 {
		t.Errorf("member of --socket-group %s: exit %d %q", group, code, out)
	}
	if out, code := asNobody(""); code == 0 {
		t.Errorf("non-member with --socket-group: allowed: %q", out)
	}
}

// loadUserImage loads a copy of the busybox test image whose config says USER user, tagged
// busybox-user-<name>:latest, and returns that reference. The docker-archive is rewritten: a
// new config file named by its digest, the manifest pointing at it, the layer unchanged.
func (e *env) loadUserImage(name, user string) string {
	e.t.Helper()
	src, err := os.ReadFile(imageTar(e.t, "busybox"))
	if err != nil {
		e.t.Fatal(err)
	}
	files := map[string][]byte{}
	var order []string
	tr := tar.NewReader(bytes.NewReader(src))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		} else if err != nil {
			e.t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			e.t.Fatal(err)
		}
		files[h.Name] = b
		order = append(order, h.Name)
	}
	var manifest []map[string]any
	if err := json.Unmarshal(files["manifest.json"], &manifest); err != nil || len(manifest) != 1 {
		e.t.Fatalf("busybox archive manifest: %v", err)
	}
	oldConfig := manifest[0]["Config"].(string)
	var cfg map[string]any
	if err := json.Unmarshal(files[oldConfig], &cfg); err != nil {
		e.t.Fatal(err)
	}
	cfg["config"].(map[string]any)["User"] = user
	cfgBytes, _ := json.Marshal(cfg)
	sum := sha256.Sum256(cfgBytes)
	newConfig := "sha256:" + hex.EncodeToString(sum[:])
	ref := "busybox-user-" + name + ":latest"
	manifest[0]["Config"], manifest[0]["RepoTags"] = newConfig, []string{ref}
	files["manifest.json"], _ = json.Marshal(manifest)
	delete(files, oldConfig)
	files[newConfig] = cfgBytes

	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	for _, n := range append(order, newConfig) {
		b, ok := files[n]
		if !ok {
			continue
		}
		delete(files, n)
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
			e.t.Fatal(err)
		}
		if _, err := tw.Write(b); err != nil {
			e.t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		e.t.Fatal(err)
	}
	path := filepath.Join(e.dir, "busybox-user-"+name+".tar")
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		e.t.Fatal(err)
	}
	e.must("load", "-i", path)
	return ref
}

// runAsNonRoot with an image whose USER is a name: resolved in the image's /etc/passwd (app is
// 1000: it runs as 1000; root: refused), a name the passwd lacks gets the kubelet's
// "non-numeric user" message.
func TestSecurityRunAsNonRootNamedImageUser(t *testing.T) {
	e := newEnv(t)
	app, root, ghost := e.loadUserImage("app", "app"), e.loadUserImage("root", "root"), e.loadUserImage("ghost", "ghost")
	pod := func(name, image string) string {
		return fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\nspec:\n  terminationGracePeriodSeconds: 1\n  securityContext: {runAsNonRoot: true}\n  containers:\n  - name: main\n    image: %s\n    imagePullPolicy: Never\n    command: [sleep, \"3600\"]\n", name, image)
	}
	e.runWait(pod("named-app", app))
	e.waitRunning("named-app", 30*time.Second)
	wantStatus(t, "USER app", e.procStatus("named-app", "main"), map[string]string{"Uid": "1000 1000 1000 1000", "Gid": "1000 1000 1000 1000"})

	for name, c := range map[string]struct{ image, msg string }{
		"named-root":  {root, "container has runAsNonRoot and image will run as root"},
		"named-ghost": {ghost, "container has runAsNonRoot and image has non-numeric user (ghost), cannot verify user is non-root"},
	} {
		e.create(pod(name, c.image))
		p := e.waitFor(name, 30*time.Second, "CreateContainerConfigError", func(p *v1.Pod) bool {
			cs := containerStatus(p, "main")
			return cs != nil && cs.State.Waiting != nil && cs.State.Waiting.Reason == "CreateContainerConfigError"
		})
		if msg := containerStatus(p, "main").State.Waiting.Message; !strings.HasPrefix(msg, c.msg) {
			t.Errorf("%s: waiting message %q, want %q…", name, msg, c.msg)
		}
	}
}
