package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/sys/mountinfo"
	_ "github.com/opencontainers/cgroups/devices"
	"github.com/opencontainers/runc/libcontainer"
	_ "github.com/opencontainers/runc/libcontainer/nsenter"
	"golang.org/x/sys/unix"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/podrun/podrun/cri"
	"github.com/podrun/podrun/internal/atomicfile"
	"github.com/podrun/podrun/internal/procstat"
	"github.com/podrun/podrun/network"
)

// The test binary is also libcontainer's "init" for the containers and execs it starts itself
// (ExecSync, the floors); the monitor and the pause run from a static podrun built once.
func init() {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		libcontainer.Init()
	}
}

var (
	testBinary  string // static podrun, built in TestMain when root
	testBusybox string // prepared busybox rootfs
)

func TestMain(m *testing.M) {
	if os.Getenv("PODRUN_TEST_DAEMON") != "" {
		os.Exit(fakeDaemon())
	}
	code := func() int {
		if os.Geteuid() != 0 {
			return m.Run()
		}
		tmp, err := os.MkdirTemp("", "podrun-runtime-test")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(tmp)
		if testBinary, err = buildPodrun(tmp); err != nil {
			fmt.Fprintln(os.Stderr, "build podrun:", err)
			return 1
		}
		if testBusybox, err = makeBusybox(filepath.Join(tmp, "busybox")); err != nil {
			fmt.Fprintln(os.Stderr, "busybox rootfs:", err)
			return 1
		}
		return m.Run()
	}()
	os.Exit(code)
}

// buildPodrun builds the static binary the way the Makefile does (the pause needs it static).
func buildPodrun(dir string) (string, error) {
	if b := os.Getenv("PODRUN_TEST_BINARY"); b != "" {
		return b, nil
	}
	out := filepath.Join(dir, "podrun")
	cmd := exec.Command("go", "build", "-tags", "seccomp netgo osusergo", "-ldflags", `-extldflags "-static"`, "-o", out, "github.com/podrun/podrun/cmd/podrun")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%v: %s", err, b)
	}
	// podrun-monitor, podrun-runner and podrun-launch beside it, as make builds them: the
	// runtime starts them as the monitor, for its libcontainer work, and to start both at once.
	cmd = exec.Command("go", "build", "-o", filepath.Join(dir, "podrun-monitor"), "github.com/podrun/podrun/cmd/podrun-monitor")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%v: %s", err, b)
	}
	cmd = exec.Command("go", "build", "-tags", "seccomp netgo osusergo", "-ldflags", `-extldflags "-static"`, "-o", filepath.Join(dir, "podrun-runner"), "github.com/podrun/podrun/cmd/podrun-runner")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%v: %s", err, b)
	}
	src, err := filepath.Abs("../cmd/podrun-launch/launch.c")
	if err != nil {
		return "", err
	}
	if b, err := exec.Command("cc", "-static", "-O2", "-o", filepath.Join(dir, "podrun-launch"), src).CombinedOutput(); err != nil {
		return "", fmt.Errorf("%v: %s", err, b)
	}
	return out, nil
}

// makeBusybox makes a minimal root filesystem from the host's static busybox.
func makeBusybox(dir string) (string, error) {
	for _, d := range []string{"bin", "etc", "proc", "sys", "dev", "tmp", "root"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return "", err
		}
	}
	b, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "bin/busybox"), b, 0o755); err != nil {
		return "", err
	}
	for _, app := range []string{"sh", "echo", "sleep", "cat", "ls", "id", "hostname", "ip", "ps", "true", "false", "kill", "grep", "env", "yes", "head", "wc", "readlink", "stat", "tr", "test"} {
		if err := os.Symlink("busybox", filepath.Join(dir, "bin", app)); err != nil {
			return "", err
		}
	}
	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
		"etc/group":  "root:x:0:\nnogroup:x:65534:\n",
	}
	for f, c := range files {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(c), 0o644); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// bindRootfs is the test's image store: it bind-mounts the prepared busybox dir.
type bindRootfs struct{ src string }

func (b bindRootfs) MountRootfs(ctx context.Context, imageID, snapshotDir, target string) error {
	if err := unix.Mount(b.src, target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return err
	}
	return unix.Mount("", target, "", unix.MS_PRIVATE|unix.MS_REC, "")
}

func (b bindRootfs) UnmountRootfs(target, snapshotDir string) error {
	if err := unix.Unmount(target, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return err
	}
	return nil
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
}

// newTestRuntime makes a Runtime on a fresh state dir; t.Cleanup removes every sandbox left.
func newTestRuntime(t *testing.T) *Runtime {
	t.Helper()
	needRoot(t)
	base := t.TempDir()
	r, err := New(Config{
		StateDir:   filepath.Join(base, "state"),
		RootDir:    filepath.Join(base, "root"),
		CgroupRoot: "podrun-test-" + strconv.Itoa(os.Getpid()),
		Rootfs:     bindRootfs{src: testBusybox},
		Binary:     testBinary,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		sbs, _ := r.ListPodSandboxes(ctx)
		for _, sb := range sbs {
			if err := r.RemovePodSandbox(ctx, sb.ID); err != nil {
				t.Errorf("cleanup sandbox %s: %v", sb.ID, err)
			}
		}
		ids, _ := r.containerIDs("")
		for _, id := range ids {
			r.RemoveContainer(ctx, id) //nolint:errcheck
		}
		removeCgroup("/" + r.cfg.CgroupRoot) //nolint:errcheck
		r.Close()
	})
	return r
}

var podSeq int

func testPod(name string, share bool) *v1.Pod {
	podSeq++
	p := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID(fmt.Sprintf("0000-%d-%d", os.Getpid(), podSeq))},
		Spec:       v1.PodSpec{Containers: []v1.Container{{Name: "c", Image: "busybox"}}},
	}
	if share {
		p.Spec.ShareProcessNamespace = &share
	}
	return p
}

func runSandbox(t *testing.T, r *Runtime, pod *v1.Pod) *cri.SandboxStatus {
	t.Helper()
	sb, err := r.RunPodSandbox(context.Background(), &cri.SandboxConfig{Pod: pod, LogDirectory: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(r.p.SandboxFile(sb.ID, "monitor.pid")); err == nil {
		pid, _ := strconv.Atoi(string(b))
		monitorPids.Store(sb.ID, pid)
	}
	return waitPauseUp(t, r, sb)
}

// waitPauseUp returns the sandbox's status once its pause runs: RunPodSandbox may return
// while the pause is still being made (Starting).
func waitPauseUp(t *testing.T, r *Runtime, sb *cri.SandboxStatus) *cri.SandboxStatus {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); sb.Starting; {
		if time.Now().After(deadline) {
			t.Fatalf("sandbox %s: pause still starting after 10s", sb.ID)
		}
		time.Sleep(2 * time.Millisecond)
		var err error
		if sb, err = r.PodSandboxStatus(context.Background(), sb.ID); err != nil {
			t.Fatal(err)
		}
	}
	if sb.State != cri.SandboxReady || sb.Pid == 0 {
		t.Fatalf("sandbox %s: %s, pause pid %d", sb.ID, sb.State, sb.Pid)
	}
	return sb
}

// monitorPids remembers each test sandbox's monitor, to prove it is gone after removal.
var monitorPids sync.Map

// createContainer creates (not starts) a container running args.
func createContainer(t *testing.T, r *Runtime, sb *cri.SandboxStatus, pod *v1.Pod, name string, args ...string) (id, logPath string) {
	t.Helper()
	c := &v1.Container{Name: name, Image: "busybox", Command: args, ImagePullPolicy: v1.PullNever,
		TerminationMessagePath: "/dev/termination-log", TerminationMessagePolicy: v1.TerminationMessageReadFile}
	logPath = filepath.Join(t.TempDir(), name, "0.log")
	id, err := r.CreateContainer(context.Background(), sb.ID, &cri.ContainerConfig{
		Pod: pod, Container: c, LogPath: logPath,
		Image: &cri.Image{ID: "sha256:" + strings.Repeat("0", 64), RepoTags: []string{"docker.io/library/busybox:latest"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return id, logPath
}

func startContainer(t *testing.T, r *Runtime, sb *cri.SandboxStatus, pod *v1.Pod, name string, args ...string) (id, logPath string) {
	t.Helper()
	id, logPath = createContainer(t, r, sb, pod, name, args...)
	if err := r.StartContainer(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	return id, logPath
}

func waitExit(t *testing.T, r *Runtime, id string) *cri.ContainerStatus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st, err := r.WaitContainer(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func procStatusField(t *testing.T, pid int, field string) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && k == field {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return ""
}

func nsInode(t *testing.T, pid int, kind string) string {
	t.Helper()
	l, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, kind))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestPauseAndNamespaces(t *testing.T) {
	r := newTestRuntime(t)
	for _, share := range []bool{false, true} {
		t.Run(fmt.Sprintf("share=%v", share), func(t *testing.T) {
			pod := testPod("ns", share)
			sb := runSandbox(t, r, pod)
			if sb.State != cri.SandboxReady || sb.Pid == 0 {
				t.Fatalf("sandbox %+v", sb)
			}
			if uid := procStatusField(t, sb.Pid, "Uid"); !strings.HasPrefix(uid, "65535") {
				t.Errorf("pause Uid %q", uid)
			}
			if c := procStatusField(t, sb.Pid, "CapEff"); c != "0000000000000000" {
				t.Errorf("pause CapEff %q", c)
			}
			for _, k := range []string{"net", "ipc", "uts"} {
				if _, err := os.Stat(sb.Namespaces[k]); err != nil {
					t.Errorf("pinned %s: %v", k, err)
				}
			}
			out, err := exec.Command("nsenter", "--net="+sb.Namespaces["net"], "cat", "/sys/class/net/lo/operstate").CombinedOutput()
			if err != nil {
				// operstate of lo is "unknown" when up; flags tell for sure.
				t.Fatalf("nsenter: %v %s", err, out)
			}
			flags, err := exec.Command("nsenter", "--net="+sb.Namespaces["net"], "cat", "/sys/class/net/lo/flags").CombinedOutput()
			if err != nil {
				t.Fatalf("nsenter: %v %s", err, flags)
			}
			f, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimPrefix(string(flags), "0x")), 16, 32)
			if f&unix.IFF_UP == 0 {
				t.Errorf("lo not up in pinned netns: flags %s", flags)
			}
			// The monitor is the small podrun-monitor built beside podrun, and it left the
			// test's cgroup for a leaf of its pod, in every hierarchy.
			if mpid, ok := monitorPids.Load(sb.ID); ok {
				if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", mpid)); err != nil || filepath.Base(exe) != "podrun-monitor" {
					t.Errorf("monitor runs %q (%v), want podrun-monitor", exe, err)
				}
				cg, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", mpid))
				for _, l := range strings.Split(strings.TrimSpace(string(cg)), "\n") {
					if !strings.HasSuffix(l, sb.CgroupParent+"/monitor-"+sb.ID[:12]) {
						t.Errorf("monitor cgroup %q, want below %s", l, sb.CgroupParent)
					}
				}
			}
			id, _ := startContainer(t, r, sb, pod, "sleeper", "sleep", "1000")
			st, err := r.ContainerStatus(context.Background(), id)
			if err != nil || st.State != cri.ContainerRunning || st.Pid == 0 {
				t.Fatalf("status %+v %v", st, err)
			}
			for _, k := range []string{"net", "ipc", "uts"} {
				if a, b := nsInode(t, st.Pid, k), nsInode(t, sb.Pid, k); a != b {
					t.Errorf("%s ns: container %s pause %s", k, a, b)
				}
			}
			if a, b := nsInode(t, st.Pid, "mnt"), nsInode(t, sb.Pid, "mnt"); a == b {
				t.Errorf("mnt ns shared with the pause")
			}
			pidSame := nsInode(t, st.Pid, "pid") == nsInode(t, sb.Pid, "pid")
			if pidSame != share {
				t.Errorf("pid ns shared = %v, want %v", pidSame, share)
			}
			if share {
				if ns := procStatusField(t, sb.Pid, "NSpid"); !strings.HasSuffix(ns, "\t1") && !strings.HasSuffix(ns, " 1") {
					t.Errorf("pause NSpid %q, want PID 1 in the pod", ns)
				}
			}
			host, err := os.ReadFile(sb.HostnamePath)
			if err != nil || strings.TrimSpace(string(host)) != pod.Name {
				t.Errorf("hostname file %q %v", host, err)
			}
			res, err := r.ExecSync(context.Background(), id, []string{"hostname"}, 5*time.Second)
			if err != nil || strings.TrimSpace(string(res.Stdout)) != pod.Name {
				t.Errorf("hostname in container %+v %v", res, err)
			}
			if err := r.RemovePodSandbox(context.Background(), sb.ID); err != nil {
				t.Fatal(err)
			}
			assertSandboxGone(t, r, sb, []string{id})
		})
	}
}

// assertSandboxGone proves RemovePodSandbox left nothing behind.
func assertSandboxGone(t *testing.T, r *Runtime, sb *cri.SandboxStatus, ctrs []string) {
	t.Helper()
	mounts, err := mountinfo.GetMounts(mountinfo.PrefixFilter(r.p.State))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mounts {
		t.Errorf("mount left: %s", m.Mountpoint)
	}
	if d := cgroupDirs(sb.CgroupParent); len(d) > 0 {
		t.Errorf("cgroup dirs left: %v", d)
	}
	if sb.Pid != 0 && alive(sb.Pid) {
		t.Errorf("pause %d still alive", sb.Pid)
	}
	if pid, ok := monitorPids.Load(sb.ID); ok && alive(pid.(int)) {
		t.Errorf("monitor %d still alive", pid)
	}
	paths := []string{r.p.Sandbox(sb.ID), r.p.Netns(sb.ID), r.p.NsDir(sb.ID), filepath.Join(r.p.Runc(), sb.ID)}
	for _, c := range ctrs {
		paths = append(paths, r.p.Container(c), filepath.Join(r.p.Runc(), c), r.p.Snapshot(c))
	}
	for _, p := range paths {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("left behind: %s", p)
		}
	}
}

func TestLogsAndExitCodes(t *testing.T) {
	r := newTestRuntime(t)
	pod := testPod("logs", false)
	sb := runSandbox(t, r, pod)

	id, logPath := startContainer(t, r, sb, pod, "exit3", "sh", "-c", "echo out; echo err >&2; exit 3")
	st := waitExit(t, r, id)
	if st.State != cri.ContainerExited || st.ExitCode != 3 || st.Reason != "Error" {
		t.Errorf("exit 3: %+v", st)
	}
	b, _ := os.ReadFile(logPath)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var got []string
	for _, l := range lines {
		f := strings.SplitN(l, " ", 4)
		if len(f) != 4 {
			t.Fatalf("bad log line %q", l)
		}
		if _, err := time.Parse(time.RFC3339Nano, f[0]); err != nil {
			t.Errorf("timestamp %q: %v", f[0], err)
		}
		got = append(got, f[1]+" "+f[2]+" "+f[3])
	}
	want := map[string]bool{"stdout F out": true, "stderr F err": true}
	if len(got) != 2 || !want[got[0]] || !want[got[1]] {
		t.Errorf("log lines %q", got)
	}

	id, _ = startContainer(t, r, sb, pod, "ok", "true")
	if st := waitExit(t, r, id); st.ExitCode != 0 || st.Reason != "Completed" {
		t.Errorf("true: %+v", st)
	}

	id, _ = startContainer(t, r, sb, pod, "killed", "sleep", "1000")
	if err := r.signal(context.Background(), mustRec(t, r, id), unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if st := waitExit(t, r, id); st.ExitCode != 137 || st.Signal != 9 {
		t.Errorf("SIGKILL: %+v", st)
	}

	// Exits while nobody waits, reported later.
	id, _ = startContainer(t, r, sb, pod, "unwaited", "sh", "-c", "exit 7")
	time.Sleep(500 * time.Millisecond)
	if st := waitExit(t, r, id); st.ExitCode != 7 {
		t.Errorf("unwaited: %+v", st)
	}
	if _, err := os.Stat(r.p.ContainerFile(id, "exit.json")); err != nil {
		t.Errorf("exit.json: %v", err)
	}
}

func mustRec(t *testing.T, r *Runtime, id string) *containerRecord {
	t.Helper()
	rec, err := r.readContainer(id)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func TestExecSync(t *testing.T) {
	r := newTestRuntime(t)
	pod := testPod("exec", false)
	sb := runSandbox(t, r, pod)
	id, _ := startContainer(t, r, sb, pod, "app", "sleep", "1000")
	ctx := context.Background()

	res, err := r.ExecSync(ctx, id, []string{"sh", "-c", "echo hi; echo there >&2; exit 5"}, 5*time.Second)
	if err != nil || res.ExitCode != 5 || string(res.Stdout) != "hi\n" || string(res.Stderr) != "there\n" {
		t.Errorf("exec: %+v %v", res, err)
	}
	start := time.Now()
	res, err = r.ExecSync(ctx, id, []string{"sleep", "101"}, 300*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) || res.ExitCode != -1 {
		t.Errorf("timeout: %+v %v", res, err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("timeout took %v", d)
	}
	// Execs run under the exec server, the small podrun-runner: the exec'd process is its
	// child, and its init was re-executed from it.
	server := r.execs.Pid()
	if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", server)); err != nil || filepath.Base(exe) != "podrun-runner" {
		t.Errorf("exec server %d runs %q (%v), want podrun-runner", server, exe, err)
	}
	// With one P (see execServerEnv), which libcontainer hands on to the exec inits.
	if env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", server)); err != nil || !bytes.Contains(env, []byte("\x00GOMAXPROCS=1\x00")) && !bytes.HasPrefix(env, []byte("GOMAXPROCS=1\x00")) {
		t.Errorf("exec server %d environment has no GOMAXPROCS=1 (%v)", server, err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.ExecSync(ctx, id, []string{"sleep", "102"}, 2*time.Second) //nolint:errcheck
	}()
	var child bool
	for deadline := time.Now().Add(2 * time.Second); !child && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		child = childRunning(server, "sleep\x00102")
	}
	if !child {
		t.Error("the exec'd sleep 102 was not seen as a child of the exec server")
	}
	<-done
	// A dead server is replaced at the next exec.
	unix.Kill(server, unix.SIGKILL) //nolint:errcheck
	time.Sleep(100 * time.Millisecond)
	if res, err := r.ExecSync(ctx, id, []string{"true"}, 5*time.Second); err != nil || res.ExitCode != 0 {
		t.Errorf("exec after the server was killed: %+v %v", res, err)
	}
	if p := r.execs.Pid(); p == server || p == 0 {
		t.Errorf("exec server pid %d after the kill of %d", p, server)
	}
	// The killed process is gone from the container.
	res, err = r.ExecSync(ctx, id, []string{"sh", "-c", "cat /proc/[0-9]*/cmdline"}, 5*time.Second)
	if err != nil || bytes.Contains(res.Stdout, []byte("sleep\x00101\x00")) || !bytes.Contains(res.Stdout, []byte("sleep\x001000\x00")) {
		t.Errorf("after timeout: %+v %v", res, err)
	}
	// TTY exec.
	var out bytes.Buffer
	code, err := r.Exec(ctx, id, &cri.ExecRequest{Cmd: []string{"sh", "-c", "test -t 0 && echo tty"}, TTY: true, Stdout: &out})
	if err != nil || code != 0 || !strings.Contains(out.String(), "tty") {
		t.Errorf("tty exec: %d %v %q", code, err, out.String())
	}
	// stdin exec.
	out.Reset()
	code, err = r.Exec(ctx, id, &cri.ExecRequest{Cmd: []string{"cat"}, Stdin: strings.NewReader("piped\n"), Stdout: &out, Stderr: &out})
	if err != nil || code != 0 || out.String() != "piped\n" {
		t.Errorf("stdin exec: %d %v %q", code, err, out.String())
	}
}

// childRunning says whether a child of parent has the cmdline prefix (NULs as "\x00").
func childRunning(parent int, cmdline string) bool {
	want := strings.ReplaceAll(cmdline, "\\x00", "\x00")
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		b, err := os.ReadFile(d + "/stat")
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 2 || f[1] != strconv.Itoa(parent) {
			continue
		}
		if c, _ := os.ReadFile(d + "/cmdline"); strings.HasPrefix(string(c), want) {
			return true
		}
	}
	return false
}

func TestStopContainer(t *testing.T) {
	r := newTestRuntime(t)
	pod := testPod("stop", false)
	sb := runSandbox(t, r, pod)
	ctx := context.Background()

	// Dies of SIGTERM at once.
	// (sleep as PID 1 of its pid namespace would ignore SIGTERM: the kernel drops signals
	// PID 1 has no handler for.)
	id, _ := startContainer(t, r, sb, pod, "term", "sh", "-c", "trap 'exit 143' TERM; while true; do sleep 0.1; done")
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	if err := r.StopContainer(ctx, id, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	st, _ := r.ContainerStatus(ctx, id)
	if st.State != cri.ContainerExited || st.ExitCode != 143 || time.Since(start) > 3*time.Second {
		t.Errorf("SIGTERM stop: %+v after %v", st, time.Since(start))
	}

	// Ignores SIGTERM: SIGKILL after the timeout.
	id, _ = startContainer(t, r, sb, pod, "stubborn", "sh", "-c", "trap '' TERM; while true; do sleep 0.1; done")
	time.Sleep(200 * time.Millisecond)
	start = time.Now()
	if err := r.StopContainer(ctx, id, time.Second); err != nil {
		t.Fatal(err)
	}
	d := time.Since(start)
	st, _ = r.ContainerStatus(ctx, id)
	if st.State != cri.ContainerExited || st.ExitCode != 137 || d < time.Second || d > 5*time.Second {
		t.Errorf("SIGKILL stop: %+v after %v", st, d)
	}
	if err := r.RemoveContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := r.RemoveContainer(ctx, id); err != nil {
		t.Errorf("second remove: %v", err)
	}
	if _, err := r.ContainerStatus(ctx, id); !errors.Is(err, cri.ErrNotFound) {
		t.Errorf("status after remove: %v", err)
	}
}

func TestDaemonRestart(t *testing.T) {
	r := newTestRuntime(t)
	pod := testPod("restart", false)
	sb := runSandbox(t, r, pod)
	id, logPath := startContainer(t, r, sb, pod, "app", "sh", "-c", "while true; do echo tick; sleep 0.2; done")
	ended, _ := startContainer(t, r, sb, pod, "ender", "sh", "-c", "sleep 0.5; exit 4")

	// A new Runtime on the same state: the old one is simply dropped, as a killed daemon.
	r2, err := New(r.cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r2.Close)
	ctx := context.Background()
	st, err := r2.ContainerStatus(ctx, id)
	if err != nil || st.State != cri.ContainerRunning {
		t.Fatalf("status after restart: %+v %v", st, err)
	}
	res, err := r2.ExecSync(ctx, id, []string{"echo", "alive"}, 5*time.Second)
	if err != nil || string(res.Stdout) != "alive\n" {
		t.Errorf("exec after restart: %+v %v", res, err)
	}
	if st := waitExit(t, r2, ended); st.ExitCode != 4 {
		t.Errorf("wait after restart: %+v", st)
	}
	sbs, err := r2.ListPodSandboxes(ctx)
	if err != nil || len(sbs) != 1 || sbs[0].State != cri.SandboxReady {
		t.Errorf("list after restart: %+v %v", sbs, err)
	}
	b1, _ := os.ReadFile(logPath)
	time.Sleep(500 * time.Millisecond)
	b2, _ := os.ReadFile(logPath)
	if len(b2) <= len(b1) {
		t.Errorf("logs stopped flowing")
	}
	if err := r2.RemovePodSandbox(ctx, sb.ID); err != nil {
		t.Fatal(err)
	}
	if err := r2.RemovePodSandbox(ctx, sb.ID); err != nil {
		t.Errorf("second remove: %v", err)
	}
	assertSandboxGone(t, r2, sb, []string{id, ended})
}

func TestCreateDeleteCycles(t *testing.T) {
	r := newTestRuntime(t)
	ctx := context.Background()
	cycles := 20
	if testing.Short() {
		cycles = 3
	}
	fdsBefore := countFDs(t)
	for i := 0; i < cycles; i++ {
		pod := testPod("cycle", i%2 == 1)
		sb := runSandbox(t, r, pod)
		id, _ := startContainer(t, r, sb, pod, "app", "sleep", "1000")
		if err := r.RemovePodSandbox(ctx, sb.ID); err != nil {
			t.Fatal(err)
		}
		assertSandboxGone(t, r, sb, []string{id})
	}
	for _, d := range []string{r.p.SandboxesDir(), r.p.ContainersDir(), filepath.Join(r.p.State, "netns"), filepath.Join(r.p.State, "ns")} {
		if ents, _ := os.ReadDir(d); len(ents) > 0 {
			t.Errorf("%s not empty: %d entries", d, len(ents))
		}
	}
	if ents, _ := os.ReadDir(r.p.Runc()); len(ents) > 0 {
		t.Errorf("runc state left: %d", len(ents))
	}
	if fdsAfter := countFDs(t); fdsAfter > fdsBefore+2 {
		t.Errorf("fd leak: %d before, %d after", fdsBefore, fdsAfter)
	}
}

func countFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

func TestFloors(t *testing.T) {
	needRoot(t)
	state, err := os.MkdirTemp("", "podrun-floor")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(state)
	ctx := context.Background()
	var cs, tot, ex []time.Duration
	for i := 0; i < 5; i++ {
		a, b, err := FloorCreateStart(ctx, state, testBusybox, []string{"true"})
		if err != nil {
			t.Fatal(err)
		}
		cs, tot = append(cs, a), append(tot, b)
		e, err := FloorExec(ctx, state, testBusybox, []string{"true"})
		if err != nil {
			t.Fatal(err)
		}
		ex = append(ex, e)
	}
	t.Logf("floor create+start %v, total %v, exec %v", cs, tot, ex)
	if ents, _ := os.ReadDir(filepath.Join(state, "runc")); len(ents) > 0 {
		t.Errorf("floor left %d containers", len(ents))
	}
}

func TestSandboxFiles(t *testing.T) {
	r := newTestRuntime(t)
	pod := testPod("files", false)
	sb := runSandbox(t, r, pod)
	id, _ := startContainer(t, r, sb, pod, "app", "sleep", "1000")
	ctx := context.Background()
	res, err := r.ExecSync(ctx, id, []string{"cat", "/etc/hosts", "/etc/resolv.conf", "/etc/hostname"}, 5*time.Second)
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("%+v %v", res, err)
	}
	out := string(res.Stdout)
	for _, want := range []string{"127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback", "files\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in %q", want, out)
		}
	}
	if strings.Contains(out, "nameserver 127.") {
		t.Errorf("loopback nameserver in pod resolv.conf: %q", out)
	}
	res, err = r.ExecSync(ctx, id, []string{"sh", "-c", "grep /dev/shm /proc/mounts"}, 5*time.Second)
	if err != nil || !strings.Contains(string(res.Stdout), "tmpfs") || !strings.Contains(string(res.Stdout), "size=65536k") {
		t.Errorf("shm: %+v %v", res, err)
	}
}

// pss returns the proportional set size of a process in KiB.
func pss(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "Pss:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return 0
}

// TestMonitorMemory runs PODRUN_TEST_PODS pods (default 10; 3 with -short) of one container
// each and reports the PSS of the monitors and the pauses.
func TestMonitorMemory(t *testing.T) {
	r := newTestRuntime(t)
	n := 10
	if s := os.Getenv("PODRUN_TEST_PODS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	if testing.Short() {
		n = 3
	}
	var sbs []*cri.SandboxStatus
	t0 := time.Now()
	for i := 0; i < n; i++ {
		pod := testPod("mem", false)
		sb := runSandbox(t, r, pod)
		startContainer(t, r, sb, pod, "app", "sh", "-c", "while true; do echo tick; sleep 1; done")
		sbs = append(sbs, sb)
	}
	t.Logf("%d pods up in %v", n, time.Since(t0))
	time.Sleep(2 * time.Second)
	var monTotal, pauseTotal, monMax int
	for _, sb := range sbs {
		b, err := os.ReadFile(r.p.SandboxFile(sb.ID, "monitor.pid"))
		if err != nil {
			t.Fatal(err)
		}
		mpid, _ := strconv.Atoi(string(b))
		m := pss(t, mpid)
		monTotal += m
		monMax = max(monMax, m)
		pauseTotal += pss(t, sb.Pid)
	}
	if b, err := os.ReadFile(r.p.SandboxFile(sbs[0].ID, "monitor.pid")); err == nil {
		if os.Getenv("PODRUN_TEST_SMAPS") != "" {
			sm, _ := os.ReadFile("/proc/" + string(b) + "/smaps")
			var out strings.Builder
			var head string
			for _, l := range strings.Split(string(sm), "\n") {
				f := strings.Fields(l)
				if len(f) > 0 && strings.Contains(f[0], "-") {
					head = l
				}
				if len(f) >= 2 && (f[0] == "Anonymous:" || f[0] == "Pss:") && f[1] != "0" {
					n, _ := strconv.Atoi(f[1])
					if n >= 64 {
						fmt.Fprintf(&out, "%s %s | %s\n", f[0], f[1], head)
					}
				}
			}
			t.Logf("one monitor:\n%s", out.String())
		}
	}
	if b, err := os.ReadFile(r.p.SandboxFile(sbs[0].ID, "monitor.log")); err == nil {
		t.Logf("monitor.log: %s", b)
	}
	t.Logf("monitor PSS: avg %d KiB, max %d KiB; pause PSS: avg %d KiB (%d pods)", monTotal/n, monMax, pauseTotal/n, n)
}

func TestTTYStdinAndOOM(t *testing.T) {
	r := newTestRuntime(t)
	pod := testPod("tty", false)
	sb := runSandbox(t, r, pod)
	ctx := context.Background()

	// A TTY container: its terminal output is logged as stdout.
	c := &v1.Container{Name: "tty", Image: "busybox", TTY: true, Command: []string{"sh", "-c", "test -t 1 && echo on-a-tty"}}
	logPath := filepath.Join(t.TempDir(), "tty.log")
	id, err := r.CreateContainer(ctx, sb.ID, &cri.ContainerConfig{Pod: pod, Container: c, LogPath: logPath, Image: &cri.Image{ID: "sha256:x"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.StartContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	if st := waitExit(t, r, id); st.ExitCode != 0 {
		t.Errorf("tty container: %+v", st)
	}
	if b, _ := os.ReadFile(logPath); !strings.Contains(string(b), " stdout F on-a-tty") {
		t.Errorf("tty log %q", b)
	}

	// stdin: true keeps the container's stdin open (cat does not see EOF).
	c = &v1.Container{Name: "stdin", Image: "busybox", Stdin: true, Command: []string{"cat"}}
	id, err = r.CreateContainer(ctx, sb.ID, &cri.ContainerConfig{Pod: pod, Container: c, LogPath: filepath.Join(t.TempDir(), "stdin.log"), Image: &cri.Image{ID: "sha256:x"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.StartContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if st, _ := r.ContainerStatus(ctx, id); st.State != cri.ContainerRunning {
		t.Errorf("cat with open stdin: %+v", st)
	}

	// OOM: a 16 MiB limit and a shell that holds 64 MiB.
	c = &v1.Container{Name: "oom", Image: "busybox", Command: []string{"sh", "-c", "x=$(head -c 67108864 /dev/zero | tr '\\0' a); echo survived"},
		Resources: v1.ResourceRequirements{Limits: v1.ResourceList{v1.ResourceMemory: resource.MustParse("16Mi")}}}
	id, err = r.CreateContainer(ctx, sb.ID, &cri.ContainerConfig{Pod: pod, Container: c, LogPath: filepath.Join(t.TempDir(), "oom.log"), Image: &cri.Image{ID: "sha256:x"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.StartContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	if st := waitExit(t, r, id); st.Reason != "OOMKilled" || st.ExitCode != 137 {
		t.Errorf("oom: %+v", st)
	}
}

func TestFailuresLeaveNothing(t *testing.T) {
	r := newTestRuntime(t)
	ctx := context.Background()

	// A sysctl value the kernel refuses: the daemon's pinning of the pod's namespaces fails.
	pod := testPod("badsysctl", false)
	pod.Spec.SecurityContext = &v1.PodSecurityContext{Sysctls: []v1.Sysctl{{Name: "kernel.shm_rmid_forced", Value: "not-a-number"}}}
	_, err := r.RunPodSandbox(ctx, &cri.SandboxConfig{Pod: pod})
	if err == nil {
		t.Fatal("sandbox with a bad sysctl started")
	}
	t.Logf("bad sysctl: %v", err)
	assertStateEmpty(t, r)
	if d := cgroupDirs(r.podCgroup(string(pod.UID))); len(d) > 0 {
		t.Errorf("cgroups left: %v", d)
	}

	// runAsNonRoot with a root image: a ConfigError, and no container left.
	pod = testPod("nonroot", false)
	sb := runSandbox(t, r, pod)
	yes := true
	c := &v1.Container{Name: "c", Image: "busybox", Command: []string{"true"}, SecurityContext: &v1.SecurityContext{RunAsNonRoot: &yes}}
	_, err = r.CreateContainer(ctx, sb.ID, &cri.ContainerConfig{Pod: pod, Container: c, LogPath: filepath.Join(t.TempDir(), "x.log"), Image: &cri.Image{ID: "sha256:x"}})
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("runAsNonRoot: %v, want a ConfigError", err)
	}
	if ids, _ := r.containerIDs(""); len(ids) > 0 {
		t.Errorf("containers left: %v", ids)
	}
	if ents, _ := os.ReadDir(filepath.Join(r.p.Root, "snapshots")); len(ents) > 0 {
		t.Errorf("snapshots left: %d", len(ents))
	}
	if err := r.RemovePodSandbox(ctx, sb.ID); err != nil {
		t.Fatal(err)
	}
	assertStateEmpty(t, r)

	// A monitor binary that never reports: RunPodSandbox fails and cleans up.
	cfg := r.cfg
	cfg.Binary = "/bin/true"
	bad, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.RunPodSandbox(ctx, &cri.SandboxConfig{Pod: testPod("nomonitor", false)}); err == nil {
		t.Fatal("sandbox without a monitor started")
	}
	assertStateEmpty(t, r)
}

// TestPauseFailsAfterReady: the monitor reports ready while the pause is still being made,
// and the pod's first container is made meanwhile. A pause that then fails (here: its binary
// is missing) turns the sandbox NotReady, the container made meanwhile never starts, and
// stopping and removing the sandbox leaves nothing. A container that starts does so only
// once the pause runs.
func TestPauseFailsAfterReady(t *testing.T) {
	r := newTestRuntime(t)
	ctx := context.Background()

	pod := testPod("pauseorder", false)
	sb, err := r.RunPodSandbox(ctx, &cri.SandboxConfig{Pod: pod, LogDirectory: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("RunPodSandbox returned with the pause starting: %v", sb.Starting)
	id, _ := createContainer(t, r, sb, pod, "c", "sleep", "1000")
	if err := r.StartContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	if st, err := r.PodSandboxStatus(ctx, sb.ID); err != nil || st.Starting || st.Pid == 0 || !alive(st.Pid) {
		t.Errorf("a container started before its pause: sandbox %+v, %v", st, err)
	}
	if err := r.StopPodSandbox(ctx, sb.ID); err != nil {
		t.Fatal(err)
	}
	if err := r.RemovePodSandbox(ctx, sb.ID); err != nil {
		t.Fatal(err)
	}

	bin := r.binary
	r.binary = filepath.Join(t.TempDir(), "no-pause")
	pod = testPod("latepause", false)
	sb, err = r.RunPodSandbox(ctx, &cri.SandboxConfig{Pod: pod, LogDirectory: t.TempDir()})
	r.binary = bin
	if err != nil {
		t.Fatalf("the monitor waited for the pause: %v", err)
	}
	id, createErr := "", error(nil)
	if st, err := r.PodSandboxStatus(ctx, sb.ID); err == nil && st.State == cri.SandboxReady {
		c := &v1.Container{Name: "c", Image: "busybox", Command: []string{"sleep", "1000"}, ImagePullPolicy: v1.PullNever}
		id, createErr = r.CreateContainer(ctx, sb.ID, &cri.ContainerConfig{Pod: pod, Container: c, LogPath: filepath.Join(t.TempDir(), "c.log"), Image: &cri.Image{ID: "sha256:x"}})
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := r.PodSandboxStatus(ctx, sb.ID)
		if err != nil {
			t.Fatal(err)
		}
		if st.State == cri.SandboxNotReady {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sandbox with a failed pause: %+v", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if id != "" {
		if err := r.StartContainer(ctx, id); err == nil {
			t.Error("a container of a sandbox whose pause failed started")
		}
	} else {
		t.Logf("container not made: %v", createErr)
	}
	if b, _ := os.ReadFile(r.p.SandboxFile(sb.ID, "monitor.log")); !bytes.Contains(b, []byte("start pause")) {
		t.Errorf("monitor.log does not tell the pause failed: %s", b)
	}
	if err := r.StopPodSandbox(ctx, sb.ID); err != nil {
		t.Fatal(err)
	}
	if err := r.RemovePodSandbox(ctx, sb.ID); err != nil {
		t.Fatal(err)
	}
	assertStateEmpty(t, r)
	if d := cgroupDirs(r.podCgroup(string(pod.UID))); len(d) > 0 {
		t.Errorf("cgroups left: %v", d)
	}
}

func assertStateEmpty(t *testing.T, r *Runtime) {
	t.Helper()
	for _, d := range []string{r.p.SandboxesDir(), r.p.ContainersDir(), r.p.Runc(), filepath.Join(r.p.State, "netns"), filepath.Join(r.p.State, "ns")} {
		if ents, _ := os.ReadDir(d); len(ents) > 0 {
			t.Errorf("%s not empty: %v", d, ents)
		}
	}
	if mounts, _ := mountinfo.GetMounts(mountinfo.PrefixFilter(r.p.State)); len(mounts) > 0 {
		t.Errorf("mounts left: %v", mounts[0].Mountpoint)
	}
}

func TestStopSandboxAndHostNetwork(t *testing.T) {
	r := newTestRuntime(t)
	ctx := context.Background()
	pod := testPod("stopsb", false)
	sb := runSandbox(t, r, pod)
	id, _ := startContainer(t, r, sb, pod, "app", "sleep", "1000")
	if err := r.StopPodSandbox(ctx, sb.ID); err != nil {
		t.Fatal(err)
	}
	if err := r.StopPodSandbox(ctx, sb.ID); err != nil {
		t.Errorf("second stop: %v", err)
	}
	st, err := r.PodSandboxStatus(ctx, sb.ID)
	if err != nil || st.State != cri.SandboxNotReady {
		t.Errorf("after stop: %+v %v", st, err)
	}
	if cs, _ := r.ContainerStatus(ctx, id); cs.State != cri.ContainerExited || cs.ExitCode != 137 {
		t.Errorf("container after sandbox stop: %+v", cs)
	}
	if err := r.RemovePodSandbox(ctx, sb.ID); err != nil {
		t.Fatal(err)
	}
	assertSandboxGone(t, r, sb, []string{id})

	// hostNetwork: no pinned net/uts, the container sees the host's network namespace.
	pod = testPod("hostnet", false)
	pod.Spec.HostNetwork = true
	sb = runSandbox(t, r, pod)
	if _, ok := sb.Namespaces["net"]; ok {
		t.Errorf("hostNetwork sandbox pinned a netns: %v", sb.Namespaces)
	}
	id, _ = startContainer(t, r, sb, pod, "app", "sleep", "1000")
	cs, _ := r.ContainerStatus(ctx, id)
	if a, b := nsInode(t, cs.Pid, "net"), nsInode(t, os.Getpid(), "net"); a != b {
		t.Errorf("hostNetwork container net ns %s, host %s", a, b)
	}
	if a, b := nsInode(t, cs.Pid, "ipc"), nsInode(t, sb.Pid, "ipc"); a != b {
		t.Errorf("ipc not shared with the pause")
	}
	if err := r.RemovePodSandbox(ctx, sb.ID); err != nil {
		t.Fatal(err)
	}
	assertSandboxGone(t, r, sb, []string{id})
}

// A monitor killed with SIGKILL: the pod keeps running, status and exec still work from disk,
// and RemovePodSandbox cleans up without it.
func TestMonitorKilled(t *testing.T) {
	r := newTestRuntime(t)
	ctx := context.Background()
	pod := testPod("monkill", false)
	sb := runSandbox(t, r, pod)
	id, _ := startContainer(t, r, sb, pod, "app", "sleep", "1000")
	b, err := os.ReadFile(r.p.SandboxFile(sb.ID, "monitor.pid"))
	if err != nil {
		t.Fatal(err)
	}
	mpid, _ := strconv.Atoi(string(b))
	if err := unix.Kill(mpid, unix.SIGKILL); err != nil { // our own child, by pid
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	st, err := r.ContainerStatus(ctx, id)
	if err != nil || st.State != cri.ContainerRunning {
		t.Errorf("status without monitor: %+v %v", st, err)
	}
	if res, err := r.ExecSync(ctx, id, []string{"true"}, 5*time.Second); err != nil || res.ExitCode != 0 {
		t.Errorf("exec without monitor: %+v %v", res, err)
	}
	if err := r.StopContainer(ctx, id, time.Second); err != nil {
		t.Errorf("stop without monitor: %v", err)
	}
	if err := r.RemovePodSandbox(ctx, sb.ID); err != nil {
		t.Fatal(err)
	}
	assertSandboxGone(t, r, sb, []string{id})

	// A monitor killed before it recorded its pause's pid (sandbox.json says Starting until
	// the pause runs): the orphaned pause is found in the pod's infra cgroup and removed.
	pod = testPod("monkill2", false)
	sb = runSandbox(t, r, pod)
	b, err = os.ReadFile(r.p.SandboxFile(sb.ID, "monitor.pid"))
	if err != nil {
		t.Fatal(err)
	}
	mpid, _ = strconv.Atoi(string(b))
	if err := unix.Kill(mpid, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var rec cri.SandboxStatus
	sbFile := r.p.SandboxFile(sb.ID, "sandbox.json")
	if err := atomicfile.ReadJSON(sbFile, &rec); err != nil {
		t.Fatal(err)
	}
	rec.Pid, rec.PidStartTime, rec.Starting = 0, 0, true
	if err := atomicfile.WriteJSON(sbFile, rec); err != nil {
		t.Fatal(err)
	}
	if !alive(sb.Pid) {
		t.Fatalf("pause %d gone with its monitor", sb.Pid)
	}
	if err := r.RemovePodSandbox(ctx, sb.ID); err != nil {
		t.Fatal(err)
	}
	assertSandboxGone(t, r, sb, nil)
}

// alive reports whether pid runs (a zombie does not: its reaper may be slow), polling a
// little for a process that is being killed.
func alive(pid int) bool {
	for i := 0; i < 20; i++ {
		if state, _, err := procstat.Stat(pid); err != nil || state == 'Z' {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

// With hostPID an orphaned grandchild of a container is reparented to the monitor (the child
// subreaper), which must reap it without stealing the exit statuses it waits for itself.
func TestMonitorReapsOrphans(t *testing.T) {
	r := newTestRuntime(t)
	pod := testPod("orphans", false)
	pod.Spec.HostPID = true
	sb := runSandbox(t, r, pod)
	id, _ := startContainer(t, r, sb, pod, "forker", "sh", "-c", "sleep 0.3 & sleep 0.1; exit 6")
	if st := waitExit(t, r, id); st.ExitCode != 6 {
		t.Errorf("forker: %+v", st)
	}
	b, err := os.ReadFile(r.p.SandboxFile(sb.ID, "monitor.pid"))
	if err != nil {
		t.Fatal(err)
	}
	mpid, _ := strconv.Atoi(string(b))
	time.Sleep(time.Second)
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", mpid))
	for _, task := range tasks {
		kids, _ := os.ReadFile(task)
		for _, k := range strings.Fields(string(kids)) {
			pid, _ := strconv.Atoi(k)
			if pid != sb.Pid && !alive(pid) {
				t.Errorf("zombie child %d of the monitor", pid)
			}
		}
	}
	// A later container's exit status is still the monitor's to record.
	id, _ = startContainer(t, r, sb, pod, "after", "sh", "-c", "exit 9")
	if st := waitExit(t, r, id); st.ExitCode != 9 {
		t.Errorf("after: %+v", st)
	}
}

// TestLatency reports podrun's own create+start and exec times (through the monitor), to set
// against the floors of TestFloors.
func TestLatency(t *testing.T) {
	r := newTestRuntime(t)
	ctx := context.Background()
	pod := testPod("latency", false)
	t0 := time.Now()
	sb := runSandbox(t, r, pod)
	sandboxD := time.Since(t0)
	var cs, total, ex []time.Duration
	for i := 0; i < 10; i++ {
		t0 := time.Now()
		id, _ := startContainer(t, r, sb, pod, fmt.Sprintf("c%d", i), "true")
		cs = append(cs, time.Since(t0))
		waitExit(t, r, id)
		if err := r.RemoveContainer(ctx, id); err != nil {
			t.Fatal(err)
		}
		total = append(total, time.Since(t0))
	}
	id, _ := startContainer(t, r, sb, pod, "sleeper", "sleep", "1000")
	for i := 0; i < 10; i++ {
		t0 := time.Now()
		if _, err := r.ExecSync(ctx, id, []string{"true"}, 5*time.Second); err != nil {
			t.Fatal(err)
		}
		ex = append(ex, time.Since(t0))
	}
	t.Logf("RunPodSandbox %v; create+start median %v, create/start/wait/remove median %v, ExecSync median %v",
		sandboxD, median(cs), median(total), median(ex))
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s[len(s)/2]
}

// fakeDaemon is the test binary re-executed as a short-lived "daemon": it runs a sandbox with
// one logging container, prints "<sandbox id> <container id>" and waits to be SIGKILLed.
func fakeDaemon() int {
	var cfg Config
	if err := json.Unmarshal([]byte(os.Getenv("PODRUN_TEST_DAEMON")), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cfg.Rootfs = bindRootfs{src: os.Getenv("PODRUN_TEST_BUSYBOX")}
	r, err := New(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx := context.Background()
	pod := testPod("killdaemon", false)
	sb, err := r.RunPodSandbox(ctx, &cri.SandboxConfig{Pod: pod})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	c := &v1.Container{Name: "app", Image: "busybox", Command: []string{"sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done"}}
	id, err := r.CreateContainer(ctx, sb.ID, &cri.ContainerConfig{Pod: pod, Container: c, LogPath: os.Getenv("PODRUN_TEST_LOG"), Image: &cri.Image{ID: "sha256:x"}})
	if err == nil {
		err = r.StartContainer(ctx, id)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(sb.ID, id)
	time.Sleep(time.Hour)
	return 0
}

// A daemon killed with SIGKILL leaves its pods running and logging; a new Runtime carries on.
func TestDaemonKilled(t *testing.T) {
	r := newTestRuntime(t)
	ctx := context.Background()
	cfgJSON, _ := json.Marshal(Config{StateDir: r.cfg.StateDir, RootDir: r.cfg.RootDir, CgroupRoot: r.cfg.CgroupRoot, Binary: r.cfg.Binary})
	logPath := filepath.Join(t.TempDir(), "app.log")
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "PODRUN_TEST_DAEMON="+string(cfgJSON), "PODRUN_TEST_BUSYBOX="+testBusybox, "PODRUN_TEST_LOG="+logPath)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() }) //nolint:errcheck
	line := make([]byte, 200)
	n, err := out.Read(line)
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(line[:n]))
	if len(f) != 2 {
		t.Fatalf("fake daemon said %q", line[:n])
	}
	sbID, id := f[0], f[1]
	if err := cmd.Process.Kill(); err != nil { // SIGKILL, our own child
		t.Fatal(err)
	}
	cmd.Wait() //nolint:errcheck
	b1, _ := os.ReadFile(logPath)
	time.Sleep(500 * time.Millisecond)
	b2, _ := os.ReadFile(logPath)
	if len(b2) <= len(b1) {
		t.Errorf("logs stopped when the daemon died (%d → %d bytes)", len(b1), len(b2))
	}
	st, err := r.ContainerStatus(ctx, id)
	if err != nil || st.State != cri.ContainerRunning {
		t.Fatalf("status after the daemon died: %+v %v", st, err)
	}
	if res, err := r.ExecSync(ctx, id, []string{"echo", "ok"}, 5*time.Second); err != nil || string(res.Stdout) != "ok\n" {
		t.Errorf("exec: %+v %v", res, err)
	}
	if err := r.StopContainer(ctx, id, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if st, _ := r.ContainerStatus(ctx, id); st.State != cri.ContainerExited || st.ExitCode != 137 && st.ExitCode != 143 {
		t.Errorf("after stop: %+v", st)
	}
	sb, err := r.PodSandboxStatus(ctx, sbID)
	if err != nil || sb.State != cri.SandboxReady {
		t.Fatalf("sandbox: %+v %v", sb, err)
	}
	if err := r.RemovePodSandbox(ctx, sbID); err != nil {
		t.Fatal(err)
	}
	assertSandboxGone(t, r, sb, []string{id})
}

// fakeNetwork records the calls of the sandbox lifecycle.
type fakeNetwork struct {
	mu        sync.Mutex
	setups    map[string]string // sandbox → netns path
	teardowns map[string]int
	fail      bool
}

func (f *fakeNetwork) Setup(ctx context.Context, id, netnsPath string, pod *v1.Pod) (*network.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return nil, errors.New("no addresses left")
	}
	f.setups[id] = netnsPath
	return &network.Result{IP: net.ParseIP("10.99.0.5")}, nil
}

func (f *fakeNetwork) Teardown(ctx context.Context, id, netnsPath string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.teardowns[id]++
	return nil
}

func TestSandboxNetworkHook(t *testing.T) {
	r := newTestRuntime(t)
	fn := &fakeNetwork{setups: map[string]string{}, teardowns: map[string]int{}}
	r.cfg.Network = fn
	ctx := context.Background()
	pod := testPod("net", false)
	sb := runSandbox(t, r, pod)
	if sb.IP != "10.99.0.5" || fn.setups[sb.ID] != sb.Namespaces["net"] {
		t.Errorf("sandbox %+v, setups %v", sb, fn.setups)
	}
	if st, _ := r.PodSandboxStatus(ctx, sb.ID); st.IP != "10.99.0.5" {
		t.Errorf("status IP %q", st.IP)
	}
	id, _ := startContainer(t, r, sb, pod, "app", "sleep", "1000")
	res, err := r.ExecSync(ctx, id, []string{"cat", "/etc/hosts"}, 5*time.Second)
	if err != nil || !strings.Contains(string(res.Stdout), "10.99.0.5\tnet\n") {
		t.Errorf("hosts: %q %v", res.Stdout, err)
	}
	if err := r.StopPodSandbox(ctx, sb.ID); err != nil {
		t.Fatal(err)
	}
	if st, _ := r.PodSandboxStatus(ctx, sb.ID); fn.teardowns[sb.ID] != 1 || st.IP != "" || st.State != cri.SandboxNotReady {
		t.Errorf("after stop: teardowns %d, %+v", fn.teardowns[sb.ID], st)
	}
	if err := r.RemovePodSandbox(ctx, sb.ID); err != nil {
		t.Fatal(err)
	}
	if fn.teardowns[sb.ID] == 0 {
		t.Errorf("no teardown")
	}
	assertSandboxGone(t, r, sb, []string{id})

	// A failing network setup leaves nothing, and the teardown ran.
	fn.fail = true
	if _, err := r.RunPodSandbox(ctx, &cri.SandboxConfig{Pod: testPod("netfail", false)}); err == nil {
		t.Fatal("sandbox without network started")
	}
	assertStateEmpty(t, r)
}

// The real pod network: the container sees eth0 with the sandbox's IP.
func TestSandboxRealNetwork(t *testing.T) {
	r := newTestRuntime(t)
	ctx := context.Background()
	suffix := strconv.Itoa(os.Getpid() % 100000)
	nm, err := network.New(network.Config{
		Bridge: "prt" + suffix, PodCIDR: "10.213.0.0/24", StateDir: filepath.Join(r.p.State, "net"),
		Table: "podrun_rt" + suffix,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nm.Reset(context.Background()) }) //nolint:errcheck
	r.cfg.Network = nm
	pod := testPod("realnet", false)
	sb := runSandbox(t, r, pod)
	if !strings.HasPrefix(sb.IP, "10.213.0.") {
		t.Fatalf("sandbox IP %q", sb.IP)
	}
	id, _ := startContainer(t, r, sb, pod, "app", "sleep", "1000")
	res, err := r.ExecSync(ctx, id, []string{"ip", "-4", "addr", "show", "eth0"}, 5*time.Second)
	if err != nil || !strings.Contains(string(res.Stdout), sb.IP+"/") {
		t.Errorf("eth0: %q %q %v", res.Stdout, res.Stderr, err)
	}
	if err := r.RemovePodSandbox(ctx, sb.ID); err != nil {
		t.Fatal(err)
	}
	assertSandboxGone(t, r, sb, []string{id})
	if alloc, _ := nm.Allocated(); len(alloc) != 0 {
		t.Errorf("addresses still allocated: %v", alloc)
	}
}

// A privileged container starts on a host whose bounding set lacks capabilities (this VM
// withholds CAP_SYS_RESOURCE): the spec is limited to what the daemon has.
func TestPrivilegedContainer(t *testing.T) {
	r := newTestRuntime(t)
	ctx := context.Background()
	pod := testPod("priv", false)
	sb := runSandbox(t, r, pod)
	yes := true
	c := &v1.Container{Name: "priv", Image: "busybox", Command: []string{"sleep", "1000"}, SecurityContext: &v1.SecurityContext{Privileged: &yes}}
	id, err := r.CreateContainer(ctx, sb.ID, &cri.ContainerConfig{Pod: pod, Container: c, LogPath: filepath.Join(t.TempDir(), "p.log"), Image: &cri.Image{ID: "sha256:x"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.StartContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	res, err := r.ExecSync(ctx, id, []string{"sh", "-c", "ls /dev | wc -l"}, 5*time.Second)
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("%+v %v", res, err)
	}
	if n, _ := strconv.Atoi(strings.TrimSpace(string(res.Stdout))); n < 20 {
		t.Errorf("privileged container sees %d device entries", n)
	}
}

// TestFirstContainerByHelper: the helper that makes the pod's first container is started
// beside the monitor (by podrun-launch, or by the monitor), as the monitor's child; it is gone
// once it made the container. The pause is the monitor's child from its start.
func TestFirstContainerByHelper(t *testing.T) {
	r := newTestRuntime(t)
	if r.launchBin == "" {
		t.Fatal("no podrun-launch beside the test binary")
	}
	launch := r.launchBin
	defer func() { r.launchBin = launch }()
	for _, tc := range []struct{ name, launch string }{{"podrun-launch", launch}, {"monitor starts helper", ""}} {
		t.Run(tc.name, func(t *testing.T) {
			r.launchBin = tc.launch
			firstContainerByHelper(t, r, testPod("firstctr", false), tc.launch != "")
		})
	}
}

func firstContainerByHelper(t *testing.T, r *Runtime, pod *v1.Pod, launched bool) {
	sb := runSandbox(t, r, pod)
	v, _ := monitorPids.Load(sb.ID)
	mpid, _ := v.(int)
	if mpid == 0 {
		t.Fatal("no monitor pid")
	}
	ppid := func(pid int) int {
		n, _ := strconv.Atoi(procStatusField(t, pid, "PPid"))
		return n
	}
	if p := ppid(sb.Pid); p != mpid {
		t.Errorf("pause %d: parent %d, want the monitor %d", sb.Pid, p, mpid)
	}
	if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", sb.Pid)); exe != "/pause" {
		t.Errorf("pause runs %q, want /pause", exe)
	}
	children, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", mpid, mpid))
	helper := 0
	for _, f := range strings.Fields(string(children)) {
		pid, _ := strconv.Atoi(f)
		if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); filepath.Base(exe) == filepath.Base(r.runnerBin) {
			helper = pid
		}
	}
	if helper == 0 {
		t.Fatalf("no helper (%s) among the monitor's children %q", r.runnerBin, children)
	}
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", mpid))
	if got := bytes.Contains(cmdline, []byte("\x00--helper-pid\x00"+strconv.Itoa(helper))); got != launched {
		t.Errorf("monitor's command line %q: adopted helper %d: %v, want %v", cmdline, helper, got, launched)
	}

	id, logPath := startContainer(t, r, sb, pod, "first", "sh", "-c", "echo first; exit 5")
	if st := waitExit(t, r, id); st.ExitCode != 5 {
		t.Errorf("first container: %+v", st)
	}
	if b, _ := os.ReadFile(logPath); !strings.Contains(string(b), " stdout F first") {
		t.Errorf("first container's log %q", b)
	}
	if alive(helper) {
		t.Errorf("the first container's helper %d still runs after the container", helper)
	}
	id, _ = startContainer(t, r, sb, pod, "second", "sleep", "1000")
	st, err := r.ContainerStatus(context.Background(), id)
	if err != nil || st.Pid == 0 {
		t.Fatalf("second container: %+v, %v", st, err)
	}
	if p := ppid(st.Pid); p != mpid {
		t.Errorf("second container's parent %d, want the monitor %d", p, mpid)
	}
}

// TestStatusFromRecords: the sandbox's and a container's liveness come from the pid and start
// time the monitor recorded; a start time that does not match (a reused pid) is not taken for
// the recorded process; a sandbox record without one is NotReady (nothing tells its pause from
// a reused pid), a container's falls back to libcontainer's state.
func TestStatusFromRecords(t *testing.T) {
	r := newTestRuntime(t)
	pod := testPod("records", false)
	sb := runSandbox(t, r, pod)
	if sb.PidStartTime == 0 {
		t.Fatalf("sandbox.json has no pause start time: %+v", sb)
	}
	sbFile := r.p.SandboxFile(sb.ID, "sandbox.json")
	rewrite := func(path string, v any, edit func()) {
		t.Helper()
		if err := atomicfile.ReadJSON(path, v); err != nil {
			t.Fatal(err)
		}
		edit()
		if err := atomicfile.WriteJSON(path, v); err != nil {
			t.Fatal(err)
		}
	}
	var rec cri.SandboxStatus
	startTime := sb.PidStartTime
	rewrite(sbFile, &rec, func() { rec.PidStartTime++ })
	if st, err := r.PodSandboxStatus(context.Background(), sb.ID); err != nil || st.State != cri.SandboxNotReady {
		t.Errorf("pause with another start time: %+v, %v; want NotReady", st, err)
	}
	rewrite(sbFile, &rec, func() { rec.PidStartTime = 0 })
	if st, err := r.PodSandboxStatus(context.Background(), sb.ID); err != nil || st.State != cri.SandboxNotReady {
		t.Errorf("pause without a start time (cannot be told from a reused pid): %+v, %v; want NotReady", st, err)
	}
	rewrite(sbFile, &rec, func() { rec.PidStartTime = startTime })

	id, _ := startContainer(t, r, sb, pod, "sleeper", "sleep", "1000")
	st, err := r.ContainerStatus(context.Background(), id)
	if err != nil || st.State != cri.ContainerRunning || st.Pid == 0 || st.StartedAt.IsZero() {
		t.Fatalf("running container: %+v, %v", st, err)
	}
	// The start returns once the init has its go; its exec of sleep follows.
	var comm []byte
	for i := 0; i < 100; i++ {
		if comm, _ = os.ReadFile(fmt.Sprintf("/proc/%d/comm", st.Pid)); strings.TrimSpace(string(comm)) == "sleep" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if strings.TrimSpace(string(comm)) != "sleep" {
		t.Errorf("pid %d runs %q, want sleep", st.Pid, comm)
	}
	// From the records alone: with libcontainer's state file out of the way it is still running.
	stateFile := filepath.Join(r.p.Runc(), id, "state.json")
	if err := os.Rename(stateFile, stateFile+".away"); err != nil {
		t.Fatal(err)
	}
	st2, err := r.ContainerStatus(context.Background(), id)
	if err := os.Rename(stateFile+".away", stateFile); err != nil {
		t.Fatal(err)
	}
	if err != nil || st2.State != cri.ContainerRunning || st2.Pid != st.Pid {
		t.Errorf("running container without libcontainer's state file: %+v, %v; want Running, pid %d", st2, err, st.Pid)
	}
	var start startRecord
	rewrite(r.p.ContainerFile(id, "started.json"), &start, func() { start.StartTime++ })
	if st2, err := r.ContainerStatus(context.Background(), id); err != nil || st2.State != cri.ContainerRunning || st2.Pid != st.Pid {
		t.Errorf("container with another start time (libcontainer's view): %+v, %v; want Running, pid %d", st2, err, st.Pid)
	}
	if err := r.signal(context.Background(), mustRec(t, r, id), unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if st := waitExit(t, r, id); st.State != cri.ContainerExited || st.ExitCode != 137 {
		t.Errorf("killed: %+v", st)
	}
}
