package integration

// The harness: every test (or group of subtests) gets its own daemon with its own --root,
// --state, --socket, --log-dir and cgroup root under a short /tmp directory, so a failing test
// cannot poison the next one, and tests can check that a daemon left nothing behind.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
)

// repoRoot is the repository, one level above this package (go test runs in the package dir).
func repoRoot() string {
	wd, err := os.Getwd()
	if err != nil {
		return ".."
	}
	return filepath.Dir(wd)
}

// podrunBin returns the binary under test: $PODRUN_BIN, else bin/podrun of the repo.
func podrunBin() string {
	if b := os.Getenv("PODRUN_BIN"); b != "" {
		return b
	}
	return filepath.Join(repoRoot(), "bin", "podrun")
}

// skipUnlessReady skips the test when it cannot run: not root, or no built binary.
func skipUnlessReady(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	if _, err := os.Stat(podrunBin()); err != nil {
		t.Skipf("no podrun binary (%v): run make build or set PODRUN_BIN", err)
	}
}

var (
	imageOnce sync.Once
	imageDir  string
	imageErr  error
)

// imageTar returns the docker-archive of a test image ("busybox" or "demoapp"): from
// $PODRUN_BUSYBOX_TAR / $PODRUN_DEMOAPP_TAR, else bin/<name>.tar, else built once with
// hack/mkimage into a temp dir (tests build their own images, no registry).
func imageTar(t *testing.T, name string) string {
	t.Helper()
	if p := os.Getenv("PODRUN_" + strings.ToUpper(name) + "_TAR"); p != "" {
		return p
	}
	if p := filepath.Join(repoRoot(), "bin", name+".tar"); fileExists(p) {
		return p
	}
	imageOnce.Do(func() {
		imageDir, imageErr = os.MkdirTemp("", "podrun-images-")
		if imageErr != nil {
			return
		}
		for _, img := range []struct{ name, tag string }{
			{"busybox", "busybox:latest"}, {"demoapp", "ikubernetes/demoapp:v1.0"},
		} {
			cmd := exec.Command("go", "run", "./hack/mkimage", img.name, "-o",
				filepath.Join(imageDir, img.name+".tar"), "-t", img.tag)
			cmd.Dir = repoRoot()
			if out, err := cmd.CombinedOutput(); err != nil {
				imageErr = fmt.Errorf("build %s image: %v\n%s", img.name, err, out)
				return
			}
		}
	})
	if imageErr != nil {
		t.Fatalf("test image: %v", imageErr)
	}
	return filepath.Join(imageDir, name+".tar")
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// env is one isolated daemon and its directories.
type env struct {
	t          *testing.T
	dir        string // T: short, so unix socket paths below it stay < 108 bytes
	root       string
	state      string
	logDir     string
	socket     string
	cgroupRoot string
	// Each env has its own pod network, so that daemons of different tests never share a
	// bridge, an address range or an nftables table.
	bridge     string
	podCIDR    string
	nftTable   string
	daemonLog  string
	daemon     *exec.Cmd
	daemonDone chan struct{}
}

// newEnv starts a daemon for t and loads the busybox image. Everything is torn down and
// checked for leaks in t.Cleanup.
func newEnv(t *testing.T) *env {
	t.Helper()
	skipUnlessReady(t)
	e := &env{t: t}
	// /tmp/p<5 hex>: <state>/sandboxes/<64 hex>/monitor.sock must fit in sun_path (108).
	for i := 0; ; i++ {
		b := make([]byte, 3)
		_, _ = rand.Read(b)
		name := hex.EncodeToString(b)[:5]
		e.dir = "/tmp/p" + name
		e.cgroupRoot = "podrun-test-" + name
		e.bridge = "prt" + name
		e.podCIDR = fmt.Sprintf("10.%d.%d.0/24", 200+int(b[0])%50, b[1])
		e.nftTable = "podrun_test_" + name
		if err := os.Mkdir(e.dir, 0o700); err == nil {
			break
		} else if i > 20 {
			t.Fatalf("make test dir: %v", err)
		}
	}
	e.root = filepath.Join(e.dir, "root")
	e.state = filepath.Join(e.dir, "state")
	e.logDir = filepath.Join(e.dir, "logs")
	e.socket = filepath.Join(e.dir, "podrun.sock")
	e.daemonLog = filepath.Join(e.dir, "daemon.log")
	t.Cleanup(e.teardown)
	e.startDaemon()
	e.loadImage("busybox")
	return e
}

// daemonArgs are the flags of `podrun daemon` for this env; short backoff keeps restart tests fast.
func (e *env) daemonArgs() []string {
	args := []string{"daemon", "--root", e.root, "--state", e.state, "--socket", e.socket,
		"--log-dir", e.logDir, "--cgroup-root", e.cgroupRoot, "--backoff-base", "100ms", "--backoff-max", "1s"}
	return append(args, e.netArgs()...)
}

// netArgs are the pod network flags of this env (also those of `system reset`).
func (e *env) netArgs() []string {
	return []string{"--bridge", e.bridge, "--pod-cidr", e.podCIDR, "--nft-table", e.nftTable, "--masquerade=false"}
}

// startDaemon starts the daemon in its own session (as a service would run) and waits until
// it answers.
func (e *env) startDaemon() {
	e.t.Helper()
	logf, err := os.OpenFile(e.daemonLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		e.t.Fatalf("daemon log: %v", err)
	}
	defer logf.Close()
	cmd := exec.Command(podrunBin(), e.daemonArgs()...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		e.t.Fatalf("start daemon: %v", err)
	}
	e.daemon = cmd
	done := make(chan struct{})
	e.daemonDone = done
	go func() { _ = cmd.Wait(); close(done) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, _, code := e.podrun("get", "pods"); code == 0 {
			return
		}
		select {
		case <-done:
			e.t.Fatalf("daemon exited at start:\n%s", e.daemonLogTail(40))
		default:
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("daemon did not answer on %s within 20s:\n%s", e.socket, e.daemonLogTail(40))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// daemonPid is the pid of the running daemon, 0 when none.
func (e *env) daemonPid() int {
	if e.daemon == nil || e.daemon.Process == nil {
		return 0
	}
	select {
	case <-e.daemonDone:
		return 0
	default:
		return e.daemon.Process.Pid
	}
}

// killDaemon sends sig to the daemon and waits up to timeout for it to exit; it reports
// whether it did.
func (e *env) killDaemon(sig syscall.Signal, timeout time.Duration) bool {
	if e.daemonPid() == 0 {
		return true
	}
	_ = e.daemon.Process.Signal(sig)
	select {
	case <-e.daemonDone:
		return true
	case <-time.After(timeout):
		return false
	}
}

// stopDaemon: SIGTERM, then SIGKILL.
func (e *env) stopDaemon() {
	if !e.killDaemon(syscall.SIGTERM, 10*time.Second) {
		e.t.Errorf("daemon ignored SIGTERM for 10s; sending SIGKILL")
		e.killDaemon(syscall.SIGKILL, 5*time.Second)
	}
}

func (e *env) daemonLogTail(n int) string {
	b, _ := os.ReadFile(e.daemonLog)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// teardown deletes every pod, stops the daemon, reports leaks, then removes whatever is left
// (processes, mounts, cgroups, files) so the next test starts clean.
func (e *env) teardown() {
	t := e.t
	if e.daemonPid() != 0 {
		if _, stderr, code := e.podrunTimeout(2*time.Minute, nil, "delete", "pods", "--all", "--grace-period", "1"); code != 0 {
			t.Errorf("teardown: delete pods --all: exit %d: %s", code, stderr)
		}
		if err := e.waitNoPods(60 * time.Second); err != nil {
			t.Errorf("teardown: %v", err)
		}
		e.stopDaemon()
	}
	leaks := e.leaks(0)
	for _, l := range leaks {
		t.Errorf("leak after teardown: %s", l)
	}
	if t.Failed() {
		t.Logf("daemon log (%s), last lines:\n%s", e.daemonLog, e.daemonLogTail(60))
	}
	e.forceClean()
}

// waitNoPods polls `get pods -o name` until it prints nothing.
func (e *env) waitNoPods(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		out, stderr, code := e.podrun("get", "pods", "-A", "-o", "name")
		if code == 0 && strings.TrimSpace(out) == "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pods still listed after %v: %q (exit %d, %s)", timeout, out, code, stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ---- running the CLI

// podrun runs `podrun --socket S args...` and returns stdout, stderr and the exit code.
func (e *env) podrun(args ...string) (string, string, int) {
	return e.podrunTimeout(2*time.Minute, nil, args...)
}

// podrunIn is podrun with stdin.
func (e *env) podrunIn(stdin string, args ...string) (string, string, int) {
	return e.podrunTimeout(2*time.Minute, strings.NewReader(stdin), args...)
}

func (e *env) podrunTimeout(timeout time.Duration, stdin *strings.Reader, args ...string) (string, string, int) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, podrunBin(), append([]string{"--socket", e.socket}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if stdin != nil {
		cmd.Stdin = stdin
	}
	err := cmd.Run()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else {
			code = -1
			stderr.WriteString(err.Error())
		}
		if ctx.Err() != nil {
			stderr.WriteString(fmt.Sprintf(" (killed after %v)", timeout))
		}
	}
	return stdout.String(), stderr.String(), code
}

// must runs a verb that must succeed and returns its stdout.
func (e *env) must(args ...string) string {
	e.t.Helper()
	out, stderr, code := e.podrun(args...)
	if code != 0 {
		e.t.Fatalf("podrun %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, stderr)
	}
	return out
}

func (e *env) loadImage(name string) {
	e.t.Helper()
	e.must("load", "-i", imageTar(e.t, name))
}

// writeYAML writes a manifest to a temp file and returns its path.
func writeYAML(t *testing.T, content string) string {
	t.Helper()
	// Not t.TempDir(): subtest names may hold commas, and -f splits its value on commas
	// (kubectl's -f is a string slice too).
	dir, err := os.MkdirTemp("", "podrun-yaml-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	f, err := os.CreateTemp(dir, "pod-*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(content); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}

// create runs `podrun create -f` on a manifest.
func (e *env) create(manifest string) {
	e.t.Helper()
	e.must("create", "-f", writeYAML(e.t, manifest))
}

// runWait runs `podrun run --wait` on a manifest; it must succeed.
func (e *env) runWait(manifest string) {
	e.t.Helper()
	e.must("run", "--wait", writeYAML(e.t, manifest))
}

// ---- reading pods

// getPod returns `get pod NAME -o json`.
func (e *env) getPod(name string) (*v1.Pod, error) {
	out, stderr, code := e.podrun("get", "pod", name, "-o", "json")
	if code != 0 {
		return nil, fmt.Errorf("get pod %s: exit %d: %s", name, code, strings.TrimSpace(stderr))
	}
	var p v1.Pod
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		return nil, fmt.Errorf("decode pod %s: %v: %s", name, err, out)
	}
	return &p, nil
}

// waitFor polls the pod until cond holds, failing the test after timeout with the last state.
func (e *env) waitFor(name string, timeout time.Duration, what string, cond func(*v1.Pod) bool) *v1.Pod {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	var last *v1.Pod
	var lastErr error
	for {
		p, err := e.getPod(name)
		if err == nil {
			last = p
			if cond(p) {
				return p
			}
		}
		lastErr = err
		if time.Now().After(deadline) {
			e.t.Fatalf("pod %s: %s not reached in %v; last error %v; last status:\n%s",
				name, what, timeout, lastErr, statusJSON(last))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func statusJSON(p *v1.Pod) string {
	if p == nil {
		return "<none>"
	}
	b, _ := json.MarshalIndent(p.Status, "", "  ")
	return string(b)
}

func (e *env) waitPhase(name string, phase v1.PodPhase, timeout time.Duration) *v1.Pod {
	e.t.Helper()
	return e.waitFor(name, timeout, "phase "+string(phase), func(p *v1.Pod) bool { return p.Status.Phase == phase })
}

// waitRunning waits until the pod is Running and every app container is running.
func (e *env) waitRunning(name string, timeout time.Duration) *v1.Pod {
	e.t.Helper()
	return e.waitFor(name, timeout, "all containers running", func(p *v1.Pod) bool {
		if p.Status.Phase != v1.PodRunning || len(p.Status.ContainerStatuses) != len(p.Spec.Containers) {
			return false
		}
		for _, cs := range p.Status.ContainerStatuses {
			if cs.State.Running == nil {
				return false
			}
		}
		return true
	})
}

func containerStatus(p *v1.Pod, name string) *v1.ContainerStatus {
	for i := range p.Status.ContainerStatuses {
		if p.Status.ContainerStatuses[i].Name == name {
			return &p.Status.ContainerStatuses[i]
		}
	}
	for i := range p.Status.InitContainerStatuses {
		if p.Status.InitContainerStatuses[i].Name == name {
			return &p.Status.InitContainerStatuses[i]
		}
	}
	return nil
}

// table parses kubectl-style table output into rows of columns keyed by header. Headers with
// spaces (NOMINATED NODE, READINESS GATES) are located by their start offset.
func parseTable(out string) (header []string, rows []map[string]string) {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) == 0 || strings.TrimSpace(lines[0]) == "" {
		return nil, nil
	}
	h := lines[0]
	type col struct {
		name  string
		start int
	}
	var cols []col
	for i := 0; i < len(h); {
		if h[i] == ' ' {
			i++
			continue
		}
		j := i
		// A column name ends at two spaces or the end of line (names have single spaces).
		for j < len(h) && !(h[j] == ' ' && (j+1 >= len(h) || h[j+1] == ' ')) {
			j++
		}
		cols = append(cols, col{h[i:j], i})
		i = j
	}
	for _, c := range cols {
		header = append(header, c.name)
	}
	for _, l := range lines[1:] {
		row := map[string]string{}
		for k, c := range cols {
			end := len(l)
			if k+1 < len(cols) && cols[k+1].start < end {
				end = cols[k+1].start
			}
			if c.start < len(l) {
				row[c.name] = strings.TrimSpace(l[c.start:end])
			}
		}
		rows = append(rows, row)
	}
	return header, rows
}

// statusColumn is the STATUS column of `get pod NAME` ("" when the pod is not listed).
func (e *env) statusColumn(name string) string {
	out, _, code := e.podrun("get", "pod", name)
	if code != 0 {
		return ""
	}
	_, rows := parseTable(out)
	for _, r := range rows {
		if r["NAME"] == name {
			return r["STATUS"]
		}
	}
	return ""
}

// inspectResult is `podrun inspect pod`.
type inspectResult struct {
	Sandbox struct {
		ID         string            `json:"id"`
		Pid        int               `json:"pid"`
		Namespaces map[string]string `json:"namespaces"`
	} `json:"sandbox"`
	Containers []struct {
		Name    string `json:"name"`
		ID      string `json:"id"`
		Pid     int    `json:"pid"`
		Cgroup  string `json:"cgroup"`
		Rootfs  string `json:"rootfs"`
		LogPath string `json:"logPath"`
	} `json:"containers"`
}

func (e *env) inspect(name string) *inspectResult {
	e.t.Helper()
	out := e.must("inspect", "pod", name)
	var r inspectResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		e.t.Fatalf("inspect pod %s: %v\n%s", name, err, out)
	}
	if r.Sandbox.Pid <= 0 {
		e.t.Fatalf("inspect pod %s: no sandbox pid:\n%s", name, out)
	}
	return &r
}

// containerPid is the pid of a named container from inspect.
func (r *inspectResult) containerPid(t *testing.T, name string) int {
	t.Helper()
	for _, c := range r.Containers {
		if c.Name == name {
			if c.Pid <= 0 {
				t.Fatalf("container %s has no pid in inspect", name)
			}
			return c.Pid
		}
	}
	t.Fatalf("container %s not in inspect output", name)
	return 0
}

// ---- leak checks

// leaks lists what this env left behind: mounts under T, cgroups named after the env's cgroup
// root, processes that belong to T, and files in the state, pod and log dirs. exceptPid (the
// running daemon) is not counted. Only pod and container cgroups count: the daemon may keep
// its empty cgroup root (processes in it still count).
func (e *env) leaks(exceptPid int) []string {
	var out []string
	for _, m := range e.mountsUnder() {
		out = append(out, "mount "+m)
	}
	for _, c := range e.cgroupDirs() {
		// The daemon's own cgroup root may stay, empty, as the kubelet's kubepods does; pod and
		// container cgroups below it may not.
		if filepath.Base(c) == e.cgroupRoot {
			continue
		}
		out = append(out, "cgroup "+c)
	}
	for _, p := range e.processes(exceptPid) {
		out = append(out, fmt.Sprintf("process %d: %s", p.pid, p.desc))
	}
	// No veth left on the env's bridge, no address still allocated.
	if ents, err := os.ReadDir("/sys/class/net/" + e.bridge + "/brif"); err == nil {
		for _, en := range ents {
			out = append(out, "veth "+en.Name()+" on "+e.bridge)
		}
	}
	for _, f := range dirEntries(filepath.Join(e.dir, "state/ipam", strings.ReplaceAll(e.podCIDR, "/", "-"))) {
		if net.ParseIP(filepath.Base(f)) != nil { // the dir also holds its lock file
			out = append(out, "ip "+f)
		}
	}
	for _, d := range []string{"state/sandboxes", "state/containers", "state/netns", "state/ns", "state/runc", "root/pods", "logs"} {
		for _, f := range dirEntries(filepath.Join(e.dir, d)) {
			out = append(out, "file "+f)
		}
	}
	return out
}

func dirEntries(dir string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, en := range ents {
		out = append(out, filepath.Join(dir, en.Name()))
	}
	return out
}

// mountsUnder lists mount points below T in the host mount namespace, deepest last.
func (e *env) mountsUnder() []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMountinfo(fields[4])
		if mp == e.dir || strings.HasPrefix(mp, e.dir+"/") {
			out = append(out, mp)
		}
	}
	return out
}

// unescapeMountinfo undoes the octal escapes (\040 for space…) of /proc/PID/mountinfo.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// cgroupDirs finds directories named after the env's cgroup root in every hierarchy
// (cgroup v1 controllers, the v1 hybrid's unified mount, or pure v2), plus anything below them.
func (e *env) cgroupDirs() []string {
	var out []string
	_ = filepath.WalkDir("/sys/fs/cgroup", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if !d.IsDir() {
			return nil
		}
		if d.Name() == e.cgroupRoot {
			_ = filepath.WalkDir(p, func(q string, dd fs.DirEntry, err error) error {
				if err == nil && dd.IsDir() {
					out = append(out, q)
				}
				return nil
			})
			return filepath.SkipDir
		}
		return nil
	})
	return out
}

type proc struct {
	pid  int
	desc string
}

// processes finds processes that belong to this env: their command line names T, their root
// is below T (a container), or they sit in one of the env's cgroups. exceptPid (the daemon)
// and its exec server (`podrun-runner serve`, its child, part of it) are not counted.
func (e *env) processes(exceptPid int) []proc {
	self := os.Getpid()
	seen := map[int]string{}
	ents, _ := os.ReadDir("/proc")
	for _, en := range ents {
		pid, err := strconv.Atoi(en.Name())
		if err != nil || pid == self || pid == exceptPid {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", en.Name(), "cmdline"))
		cl := strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " "))
		if exceptPid > 0 && parentOf(pid) == exceptPid && strings.Contains(cl, " serve --state ") {
			continue
		}
		if strings.Contains(cl, e.dir+"/") || strings.HasSuffix(cl, e.dir) {
			seen[pid] = "cmdline " + cl
			continue
		}
		if root, err := os.Readlink(filepath.Join("/proc", en.Name(), "root")); err == nil &&
			strings.HasPrefix(root, e.dir+"/") {
			seen[pid] = "root " + root + " cmdline " + cl
		}
	}
	for _, c := range e.cgroupDirs() {
		b, _ := os.ReadFile(filepath.Join(c, "cgroup.procs"))
		for _, f := range strings.Fields(string(b)) {
			pid, _ := strconv.Atoi(f)
			if pid > 0 && pid != exceptPid && pid != self {
				if _, ok := seen[pid]; !ok {
					cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
					seen[pid] = "in cgroup " + c + " cmdline " + strings.ReplaceAll(string(cmdline), "\x00", " ")
				}
			}
		}
	}
	var out []proc
	for pid, d := range seen {
		out = append(out, proc{pid, d})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].pid < out[j].pid })
	return out
}

// checkNoLeaks fails the test if anything but the daemon itself is left.
func (e *env) checkNoLeaks() {
	e.t.Helper()
	for _, l := range e.leaks(e.daemonPid()) {
		e.t.Errorf("leak: %s", l)
	}
}

// forceClean removes whatever is left of the env: processes it started (by pid), mounts
// (lazily), cgroups, files. Only things below T or named after the env's cgroup root.
func (e *env) forceClean() {
	defer func() {
		// The bridge and the nftables table go with the env (`podrun system reset`).
		args := append([]string{"--socket", e.socket, "system", "reset", "--state", e.state}, e.netArgs()...)
		if out, err := exec.Command(podrunBin(), args...).CombinedOutput(); err != nil {
			e.t.Logf("system reset: %v: %s", err, out)
		}
		_ = os.RemoveAll(e.dir)
	}()
	for i := 0; i < 3; i++ {
		procs := e.processes(0)
		if len(procs) == 0 {
			break
		}
		for _, p := range procs {
			_ = syscall.Kill(p.pid, syscall.SIGKILL)
		}
		time.Sleep(200 * time.Millisecond)
	}
	mounts := e.mountsUnder()
	for i := len(mounts) - 1; i >= 0; i-- {
		_ = syscall.Unmount(mounts[i], syscall.MNT_DETACH)
	}
	cgs := e.cgroupDirs()
	sort.Slice(cgs, func(i, j int) bool { return len(cgs[i]) > len(cgs[j]) })
	for _, c := range cgs {
		_ = os.Remove(c)
	}
	if err := os.RemoveAll(e.dir); err != nil {
		e.t.Logf("remove %s: %v", e.dir, err)
	}
}

// ---- small helpers

// nsInode is the target of /proc/PID/ns/NAME ("net:[4026531993]").
func nsInode(t *testing.T, pid int, ns string) string {
	t.Helper()
	s, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, ns))
	if err != nil {
		t.Fatalf("read ns %s of pid %d: %v", ns, pid, err)
	}
	return s
}

// parentOf is the ppid of pid, 0 when unknown.
func parentOf(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return 0
	}
	p, _ := strconv.Atoi(f[1])
	return p
}

func pidAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// A zombie is not alive: state is the field after the ")" of the comm.
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}

// oneLine reports whether s (trimmed) is a single line.
func oneLine(s string) bool {
	return !strings.Contains(strings.TrimSpace(s), "\n")
}

// busyboxPod renders a one-container busybox pod.
func busyboxPod(name, restartPolicy, script string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
spec:
  restartPolicy: %s
  terminationGracePeriodSeconds: 5
  containers:
  - name: main
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", %q]
`, name, restartPolicy, script)
}

// sleepersPod renders a pod of busybox containers that each run `sleep <seconds>`; specExtra
// is inserted into the spec (e.g. "shareProcessNamespace: true").
func sleepersPod(name, specExtra string, containers map[string]int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\nspec:\n  terminationGracePeriodSeconds: 1\n", name)
	if specExtra != "" {
		fmt.Fprintf(&b, "  %s\n", specExtra)
	}
	b.WriteString("  containers:\n")
	names := make([]string, 0, len(containers))
	for n := range containers {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "  - name: %s\n    image: busybox\n    imagePullPolicy: IfNotPresent\n    command: [\"sleep\", \"%d\"]\n", n, containers[n])
	}
	return b.String()
}

// TestMain removes the images built for this run (imageTar's fallback) when the tests end.
func TestMain(m *testing.M) {
	code := m.Run()
	if imageDir != "" {
		os.RemoveAll(imageDir)
	}
	os.Exit(code)
}

// hostDir makes a directory below T for a hostPath volume; it goes with the env.
func (e *env) hostDir() string {
	e.t.Helper()
	dir := filepath.Join(e.dir, "hostpath")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		e.t.Fatal(err)
	}
	return dir
}

// hostPathPod renders a one-container busybox pod running script with the host directory dir
// mounted at /hp.
func hostPathPod(name, restartPolicy string, grace int, script, dir string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
spec:
  restartPolicy: %s
  terminationGracePeriodSeconds: %d
  containers:
  - name: main
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", %q]
    volumeMounts:
    - {name: hp, mountPath: /hp}
  volumes:
  - name: hp
    hostPath: {path: %s, type: Directory}
`, name, restartPolicy, grace, script, dir)
}
