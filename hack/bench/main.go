// Command bench measures podrun against the raw libcontainer floor and prints a table
// (`make bench`, as root). It runs its own daemon on temp dirs and removes everything after.
//
// Figures (medians of -runs runs):
//   - floor: libcontainer create+start (and create/start/wait/destroy) of a busybox container,
//     in-process, no pod; floor exec into a running container;
//   - pod start: CreatePod → every container running (API client), and `podrun run --wait`
//     (CLI, process start included);
//   - pod delete: DeletePod → pod gone (the container exits on SIGTERM);
//   - exec: `true` through the daemon's exec stream;
//   - memory with 1, 10, 50 single-container pods: PSS of every pause and monitor
//     (/proc/PID/smaps_rollup) and the daemon's RSS and PSS.
//
// The daemon's --state is a tmpfs, like the default /run/podrun; --root is on disk.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/podrun/podrun/api"
)

const ns = "default"

func main() {
	runs := flag.Int("runs", 10, "runs per latency figure (median)")
	podCounts := flag.String("pods", "1,10,50", "pod counts for the memory figures")
	bin := flag.String("bin", envOr("PODRUN_BIN", "bin/podrun"), "podrun binary")
	busybox := flag.String("busybox", envOr("PODRUN_BUSYBOX_TAR", "bin/busybox.tar"), "busybox image archive")
	only := flag.String("only", "", "run one part only: start (floors, pod start through the API and run --wait, delete) or probe (exec-probe cost)")
	flag.Parse()
	if *only != "" && *only != "start" && *only != "probe" {
		fmt.Fprintf(os.Stderr, "bench: bad -only %q (start or probe)\n", *only)
		os.Exit(2)
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "bench: needs root (namespaces, cgroups, mounts)")
		os.Exit(1)
	}
	var counts []int
	for _, s := range strings.Split(*podCounts, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			fmt.Fprintf(os.Stderr, "bench: bad -pods %q\n", *podCounts)
			os.Exit(2)
		}
		counts = append(counts, n)
	}
	b, err := newBench(*bin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	b.only = *only
	err = b.run(*runs, counts, *busybox)
	b.cleanup()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		if b.daemonLog != "" {
			fmt.Fprintln(os.Stderr, "daemon log kept at", b.daemonLog)
		}
		os.Exit(1)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

type bench struct {
	only      string // "": everything; "start" or "probe": that part only
	bin       string
	dir       string
	socket    string
	daemonLog string
	daemon    *exec.Cmd
	done      chan struct{}
	client    *api.Client
	rows      []row
	daemonRSS map[int]int64 // pod count → daemon VmRSS in KiB
}

// row is one line of the result table.
type row struct {
	what, value, floor, ratio, target string
}

func newBench(bin string) (*bench, error) {
	abs, err := filepath.Abs(bin)
	if err != nil {
		return nil, err
	}
	rb := make([]byte, 3)
	_, _ = rand.Read(rb)
	// Short: the monitor's unix socket lives below <dir>/state/sandboxes/<64 hex>/.
	dir := "/tmp/b" + hex.EncodeToString(rb)[:5]
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, err
	}
	return &bench{bin: abs, dir: dir, socket: filepath.Join(dir, "podrun.sock")}, nil
}

func (b *bench) run(runs int, counts []int, busyboxTar string) error {
	ctx := context.Background()
	if err := b.startDaemon(); err != nil {
		return err
	}
	f, err := os.Open(busyboxTar)
	if err != nil {
		return fmt.Errorf("open busybox image: %w", err)
	}
	_, err = b.client.LoadImages(ctx, f)
	f.Close()
	if err != nil {
		return fmt.Errorf("load busybox image: %w", err)
	}

	fmt.Printf("podrun bench: %d runs per figure, medians; host %s, %d CPUs\n\n", runs, hostname(), goruntime.NumCPU())
	if b.only == "probe" {
		if err := b.probeCost(ctx, runs, 50, 3, 10*time.Second); err != nil {
			return err
		}
		b.print()
		return nil
	}

	floorCS, floorTotal, floorExec, ferr := b.floor(runs)
	if ferr != nil {
		fmt.Fprintf(os.Stderr, "floor: %v\n", ferr)
	}
	b.add("libcontainer create+start (floor)", dur(floorCS), "", "", "")
	b.add("libcontainer create/start/wait/destroy", dur(floorTotal), "", "", "runc run ≈ 30 ms here")
	b.add("libcontainer exec (floor)", dur(floorExec), "", "", "runc exec ≈ 13 ms here")

	start, del, err := b.podStartDelete(ctx, runs)
	if err != nil {
		return err
	}
	b.add("pod start (API: create → running)", dur(start), dur(floorCS), ratio(start, floorCS), "≤ 3× floor; podman kube play 249 ms")
	b.add("pod delete (SIGTERM honoured → gone)", dur(del), dur(floorTotal), ratio(del, floorTotal), "")
	cli, err := b.cliRunWait(runs)
	if err != nil {
		return err
	}
	b.add("pod start (CLI: run --wait)", dur(cli), dur(floorCS), ratio(cli, floorCS), "≤ 3× floor")
	if b.only == "start" {
		b.print()
		return nil
	}

	ex, err := b.execLatency(ctx, runs)
	if err != nil {
		return err
	}
	b.add("exec `true` (API)", dur(ex), dur(floorExec), ratio(ex, floorExec), "")

	b.daemonRSS = map[int]int64{}
	for _, n := range counts {
		if err := b.memory(ctx, n); err != nil {
			return err
		}
	}
	if lo, hi := counts[0], counts[len(counts)-1]; hi > lo {
		growth := float64(b.daemonRSS[hi]-b.daemonRSS[lo]) / float64(hi-lo) / 1024
		b.add(fmt.Sprintf("daemon RSS growth per pod (%d→%d pods)", lo, hi), fmt.Sprintf("%.2f MiB", growth), "", "", "")
	}
	// Exec-probe cost (probe.go): 50 containers probed every second, 3 windows of 10 s.
	if err := b.probeCost(ctx, runs, 50, 3, 10*time.Second); err != nil {
		return err
	}
	// Pod network (network.go): Manager setup/teardown, pods/s bridge vs none vs hostNetwork.
	if err := b.networkBench(runs, 10, busyboxTar); err != nil {
		fmt.Fprintln(os.Stderr, "bench: network:", err)
	}
	b.print()
	return nil
}

func (b *bench) add(what, value, floor, ratio, target string) {
	b.rows = append(b.rows, row{what, value, floor, ratio, target})
}

func (b *bench) print() {
	head := row{"figure", "podrun", "floor", "ratio", "target / reference"}
	w := [5]int{}
	all := append([]row{head}, b.rows...)
	for _, r := range all {
		for i, c := range []string{r.what, r.value, r.floor, r.ratio, r.target} {
			if n := len([]rune(c)); n > w[i] {
				w[i] = n
			}
		}
	}
	for i, r := range all {
		cells := []string{r.what, r.value, r.floor, r.ratio, r.target}
		var sb strings.Builder
		for j, c := range cells {
			sb.WriteString(c)
			if j < len(cells)-1 {
				sb.WriteString(strings.Repeat(" ", w[j]-len([]rune(c))+2))
			}
		}
		fmt.Println(strings.TrimRight(sb.String(), " "))
		if i == 0 {
			fmt.Println(strings.Repeat("-", w[0]+w[1]+w[2]+w[3]+w[4]+8))
		}
	}
}

// ---- daemon

func (b *bench) startDaemon() error {
	b.daemonLog = filepath.Join(b.dir, "daemon.log")
	logf, err := os.Create(b.daemonLog)
	if err != nil {
		return err
	}
	defer logf.Close()
	// The state dir on a tmpfs, as the default /run/podrun is on every systemd host (this
	// VM's /run is not): live state is volatile by design, and an fsync there costs nothing.
	state := filepath.Join(b.dir, "state")
	if err := os.Mkdir(state, 0o700); err != nil {
		return err
	}
	if err := syscall.Mount("tmpfs", state, "tmpfs", 0, "mode=0700"); err != nil {
		return fmt.Errorf("mount tmpfs on %s: %w", state, err)
	}
	args := []string{"daemon", "--root", filepath.Join(b.dir, "root"),
		"--state", filepath.Join(b.dir, "state"), "--socket", b.socket,
		"--log-dir", filepath.Join(b.dir, "logs"), "--cgroup-root", b.cgroupRoot()}
	cmd := exec.Command(b.bin, append(args, b.podNetworkArgs()...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start daemon: %w", err)
	}
	b.daemon = cmd
	b.done = make(chan struct{})
	go func() { _ = cmd.Wait(); close(b.done) }()
	b.client = api.NewClient(b.socket)
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := b.client.Ping(ctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-b.done:
			return fmt.Errorf("daemon exited at start (log %s)", b.daemonLog)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("daemon did not answer: %v (log %s)", err, b.daemonLog)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cleanup deletes every pod, stops the daemon and removes the temp dirs (unmounting what is
// left below them).
func (b *bench) cleanup() {
	leftovers := false
	if b.client != nil && b.daemon != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		if l, err := b.client.ListPods(ctx, "", api.ListOptions{}); err == nil {
			zero := int64(0)
			for _, p := range l.Items {
				_, _ = b.client.DeletePod(ctx, p.Namespace, p.Name, api.DeleteOptions{GracePeriodSeconds: &zero, Force: true})
			}
			// Gone from the API is not yet torn down (a force delete answers first, as the API
			// server does): wait for the sandboxes too, else stopping the daemon leaves them
			// running for a restarted daemon to clean, and this bench never restarts it.
			sandboxes := filepath.Join(b.dir, "state", "sandboxes")
			for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
				l, err := b.client.ListPods(ctx, "", api.ListOptions{})
				ents, _ := os.ReadDir(sandboxes)
				if (err != nil || len(l.Items) == 0) && len(ents) == 0 {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if ents, _ := os.ReadDir(sandboxes); len(ents) > 0 {
				b.leftBehind(sandboxes, ents)
				leftovers = true
			}
		}
		cancel()
		_ = b.daemon.Process.Signal(syscall.SIGTERM)
		select {
		case <-b.done:
		case <-time.After(10 * time.Second):
			_ = b.daemon.Process.Kill()
			<-b.done
		}
	}
	// The bench's own bridge, nftables table and address allocations go too. system reset
	// refuses while sandbox directories remain: after leftovers (killed by now) it is given an
	// empty state directory, the allocations going with the bench's directory below.
	state := filepath.Join(b.dir, "state")
	if leftovers {
		state = filepath.Join(b.dir, "reset-state")
	}
	reset := append([]string{"--socket", b.socket, "system", "reset", "--state", state}, b.podNetworkArgs()...)
	if out, err := exec.Command(b.bin, reset...).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "bench: podrun system reset: %v: %s\n", err, out)
	}
	for _, m := range mountsUnder(b.dir) {
		_ = syscall.Unmount(m, syscall.MNT_DETACH)
	}
	// The state tmpfs, once more: in one run the unmounts above left it mounted (all four
	// benches; cause not found), in the two runs since they did not.
	for i := 0; i < 8 && syscall.Unmount(filepath.Join(b.dir, "state"), syscall.MNT_DETACH) == nil; i++ {
	}
	// The daemon keeps its (now empty) cgroup root; after leftovers, the cgroups of their pods
	// are below it. rmdir removes only empty cgroups: the deepest first.
	cgs, _ := filepath.Glob("/sys/fs/cgroup/*/" + b.cgroupRoot())
	cgs = append(cgs, "/sys/fs/cgroup/"+b.cgroupRoot())
	for _, c := range cgs {
		removeCgroupTree(c)
	}
	if err := os.RemoveAll(b.dir); err != nil {
		fmt.Fprintln(os.Stderr, "bench: cleanup:", err)
	}
}

// leftBehind reports sandboxes the daemon did not remove within a minute of their pods'
// deletion: the daemon's goroutines are dumped into its log (SIGQUIT), which is kept, and the
// sandboxes' monitors and pauses are killed (by the pids they recorded).
func (b *bench) leftBehind(dir string, ents []os.DirEntry) {
	fmt.Fprintf(os.Stderr, "bench: %d sandbox(es) still up a minute after their pods' deletion\n", len(ents))
	// What every process is doing, before the daemon (and with it the exec server) goes.
	ps, _ := exec.Command("ps", "-eo", "pid,ppid,stat,wchan:32,args").CombinedOutput()
	_ = b.daemon.Process.Signal(syscall.SIGQUIT)
	select {
	case <-b.done:
	case <-time.After(10 * time.Second):
	}
	if data, err := os.ReadFile(b.daemonLog); err == nil {
		// With it, what the processes were doing and the leftover sandboxes' monitor logs.
		data = append(append(data, "\n--- ps\n"...), ps...)
		for _, e := range ents {
			if mlog, err := os.ReadFile(filepath.Join(dir, e.Name(), "monitor.log")); err == nil {
				data = append(append(data, "\n--- monitor.log of sandbox "+e.Name()+"\n"...), mlog...)
			}
		}
		kept := filepath.Join(os.TempDir(), "podrun-bench-"+filepath.Base(b.dir)+"-daemon.log")
		if os.WriteFile(kept, data, 0o644) == nil {
			fmt.Fprintln(os.Stderr, "bench: the daemon's log and goroutines, ps and the monitors' logs are kept at", kept)
		}
	}
	// The monitors first (so that nothing restarts), then the pauses and any container.
	var files []string
	for _, name := range []string{"monitor.pid", "sandbox.json"} {
		for _, e := range ents {
			files = append(files, filepath.Join(dir, e.Name(), name))
		}
	}
	ctrs, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), "containers", "*", "started.json"))
	for _, f := range append(files, ctrs...) {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
		if filepath.Ext(f) == ".json" {
			var rec struct{ Pid int } // sandbox.json, started.json
			if json.Unmarshal(data, &rec) != nil {
				continue
			}
			pid = rec.Pid
		}
		if pid > 0 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// removeCgroupTree removes the cgroup dir and the cgroups below it, deepest first (a
// cgroup's interface files cannot be removed, only empty cgroup directories).
func removeCgroupTree(dir string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if e.IsDir() {
			removeCgroupTree(filepath.Join(dir, e.Name()))
		}
	}
	for i := 0; i < 50 && os.Remove(dir) != nil; i++ {
		time.Sleep(20 * time.Millisecond) // killed processes may still be leaving it
	}
}

func (b *bench) cgroupRoot() string { return "podrun-bench-" + filepath.Base(b.dir) }

// podNetworkArgs give the bench's daemon a pod network of its own (bridge, address range,
// nftables table), so it never touches a running podrun's.
func (b *bench) podNetworkArgs() []string {
	id := filepath.Base(b.dir)[1:] // 5 hex digits
	n, _ := strconv.ParseUint(id, 16, 32)
	return []string{"--bridge", "prb" + id, "--pod-cidr", fmt.Sprintf("10.%d.%d.0/24", 150+n%50, (n/50)%256),
		"--nft-table", "podrun_bench_" + id, "--masquerade=false"}
}

// ---- pods

// sleeper is a single-container pod that exits promptly on SIGTERM (as PID 1 it needs a
// handler: the kernel drops default-action signals sent to a pid namespace's init).
func sleeper(name string) *v1.Pod {
	grace := int64(5)
	return &v1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: v1.PodSpec{
			TerminationGracePeriodSeconds: &grace,
			Containers: []v1.Container{{
				Name: "main", Image: "busybox", ImagePullPolicy: v1.PullIfNotPresent,
				Command: []string{"sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"},
			}},
		},
	}
}

func allRunning(p *v1.Pod) bool {
	if p.Status.Phase != v1.PodRunning || len(p.Status.ContainerStatuses) != len(p.Spec.Containers) {
		return false
	}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Running == nil {
			return false
		}
	}
	return true
}

// waitRunning polls until every container runs; the poll interval is small against the figures.
func (b *bench) waitRunning(ctx context.Context, name string) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		p, err := b.client.GetPod(ctx, ns, name)
		if err == nil && allRunning(p) {
			return nil
		}
		if err == nil && (p.Status.Phase == v1.PodFailed || p.Status.Phase == v1.PodSucceeded) {
			return fmt.Errorf("pod %s ended: %s", name, p.Status.Phase)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pod %s not running after 60s (last error %v)", name, err)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (b *bench) waitGone(ctx context.Context, name string) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, err := b.client.GetPod(ctx, ns, name)
		if apierrors.IsNotFound(err) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pod %s not gone after 60s (last error %v)", name, err)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (b *bench) deleteAndWait(ctx context.Context, name string) error {
	if _, err := b.client.DeletePod(ctx, ns, name, api.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	return b.waitGone(ctx, name)
}

func (b *bench) podStartDelete(ctx context.Context, runs int) (start, del time.Duration, err error) {
	var starts, dels []time.Duration
	for i := 0; i < runs+1; i++ {
		name := fmt.Sprintf("start-%d", i)
		// Timed through a watch, as kubectl wait and run --wait see it: polling the API every
		// few milliseconds would load the 2 CPUs the start itself runs on.
		events, stop, err := b.watchPod(ctx, name)
		if err != nil {
			return 0, 0, err
		}
		t0 := time.Now()
		if _, err := b.client.CreatePod(ctx, ns, sleeper(name)); err != nil {
			stop()
			return 0, 0, fmt.Errorf("create %s: %w", name, err)
		}
		err = waitEvent(events, func(ev api.PodEvent) bool { return ev.Type != watch.Deleted && allRunning(ev.Pod) })
		s := time.Since(t0)
		if err != nil {
			stop()
			return 0, 0, fmt.Errorf("pod %s: %w", name, err)
		}
		t1 := time.Now()
		if _, err := b.client.DeletePod(ctx, ns, name, api.DeleteOptions{}); err != nil {
			stop()
			return 0, 0, fmt.Errorf("delete %s: %w", name, err)
		}
		err = waitEvent(events, func(ev api.PodEvent) bool { return ev.Type == watch.Deleted })
		d := time.Since(t1)
		stop()
		if err != nil {
			return 0, 0, fmt.Errorf("pod %s: %w", name, err)
		}
		if i == 0 {
			continue // warm-up: page cache, first layer unpack
		}
		starts, dels = append(starts, s), append(dels, d)
	}
	return median(starts), median(dels), nil
}

// watchPod watches the pod name from now on; stop ends the watch.
func (b *bench) watchPod(ctx context.Context, name string) (<-chan api.PodEvent, func(), error) {
	wctx, cancel := context.WithCancel(ctx)
	events, err := b.client.WatchPods(wctx, ns, api.ListOptions{FieldSelector: "metadata.name=" + name})
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("watch %s: %w", name, err)
	}
	return events, cancel, nil
}

// waitEvent waits up to 60 s for an event that done accepts.
func waitEvent(events <-chan api.PodEvent, done func(api.PodEvent) bool) error {
	timeout := time.After(60 * time.Second)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return errors.New("watch closed")
			}
			if done(ev) {
				return nil
			}
			if ev.Pod != nil && (ev.Pod.Status.Phase == v1.PodFailed || ev.Pod.Status.Phase == v1.PodSucceeded) {
				return fmt.Errorf("ended: %s", ev.Pod.Status.Phase)
			}
		case <-timeout:
			return errors.New("no such event after 60s")
		}
	}
}

func (b *bench) cliRunWait(runs int) (time.Duration, error) {
	ctx := context.Background()
	var ds []time.Duration
	for i := 0; i < runs; i++ {
		name := fmt.Sprintf("cli-%d", i)
		manifest := filepath.Join(b.dir, name+".yaml")
		y := fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\nspec:\n  terminationGracePeriodSeconds: 5\n  containers:\n  - name: main\n    image: busybox\n    imagePullPolicy: IfNotPresent\n    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; sleep 3600 & wait\"]\n", name)
		if err := os.WriteFile(manifest, []byte(y), 0o644); err != nil {
			return 0, err
		}
		t0 := time.Now()
		out, err := exec.Command(b.bin, "--socket", b.socket, "run", "--wait", manifest).CombinedOutput()
		d := time.Since(t0)
		if err != nil {
			return 0, fmt.Errorf("podrun run --wait: %v: %s", err, out)
		}
		ds = append(ds, d)
		if err := b.deleteAndWait(ctx, name); err != nil {
			return 0, err
		}
	}
	return median(ds), nil
}

func (b *bench) execLatency(ctx context.Context, runs int) (time.Duration, error) {
	if _, err := b.client.CreatePod(ctx, ns, sleeper("exec")); err != nil {
		return 0, err
	}
	if err := b.waitRunning(ctx, "exec"); err != nil {
		return 0, err
	}
	var ds []time.Duration
	for i := 0; i < runs+1; i++ {
		t0 := time.Now()
		code, err := b.client.Exec(ctx, ns, "exec", api.ExecOptions{Command: []string{"true"}, Stdout: io.Discard, Stderr: io.Discard})
		d := time.Since(t0)
		if err != nil || code != 0 {
			return 0, fmt.Errorf("exec true: code %d: %v", code, err)
		}
		if i > 0 {
			ds = append(ds, d)
		}
	}
	return median(ds), b.deleteAndWait(ctx, "exec")
}

// memory starts n pods, sums the PSS of their pauses and monitors, reads the daemon's
// footprint, and deletes them.
func (b *bench) memory(ctx context.Context, n int) error {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("mem%d-%d", n, i)
		if _, err := b.client.CreatePod(ctx, ns, sleeper(names[i])); err != nil {
			return fmt.Errorf("create %s: %w", names[i], err)
		}
	}
	for _, name := range names {
		if err := b.waitRunning(ctx, name); err != nil {
			return err
		}
	}
	time.Sleep(500 * time.Millisecond) // let the monitors settle after start
	var pauseKB, monKB int64
	var monitors = map[int]bool{}
	for _, name := range names {
		in, err := b.client.Inspect(ctx, ns, name)
		if err != nil {
			return fmt.Errorf("inspect %s: %w", name, err)
		}
		pauseKB += pssKB(in.Sandbox.Pid)
		// The monitor is the parent of the pause (and of every container of the pod).
		if m := ppid(in.Sandbox.Pid); m > 1 && m != b.daemon.Process.Pid && !monitors[m] {
			monitors[m] = true
			monKB += pssKB(m)
		}
	}
	dPid := b.daemon.Process.Pid
	b.daemonRSS[n] = statusKB(dPid, "VmRSS")
	perPod := float64(pauseKB+monKB) / float64(n) / 1024
	target := ""
	if n >= 50 {
		target = "≤ 2 MB/pod; podman 0.96 MiB/pod"
	}
	b.add(fmt.Sprintf("%d pods: PSS pauses + %d monitors", n, len(monitors)), mib(pauseKB+monKB), "", "", "")
	b.add(fmt.Sprintf("%d pods: PSS per pod (pause %.2f + monitor %.2f)", n,
		float64(pauseKB)/float64(n)/1024, float64(monKB)/float64(n)/1024),
		fmt.Sprintf("%.2f MiB", perPod), "", fmt.Sprintf("%.2f× of 2 MB", perPod*1024*1024/2e6), target)
	b.add(fmt.Sprintf("%d pods: daemon RSS / PSS", n), fmt.Sprintf("%s / %s", mib(statusKB(dPid, "VmRSS")), mib(pssKB(dPid))), "", "", "")
	if s := b.execServer(); s != 0 {
		b.add(fmt.Sprintf("%d pods: exec server RSS / PSS", n), fmt.Sprintf("%s / %s", mib(statusKB(s, "VmRSS")), mib(pssKB(s))), "", "", "one per daemon")
	}
	for _, name := range names {
		if _, err := b.client.DeletePod(ctx, ns, name, api.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete %s: %w", name, err)
		}
	}
	for _, name := range names {
		if err := b.waitGone(ctx, name); err != nil {
			return err
		}
	}
	return nil
}

// ---- /proc readers

// pssKB is the Pss line of /proc/PID/smaps_rollup, in KiB (0 when unreadable).
func pssKB(pid int) int64 { return procField(fmt.Sprintf("/proc/%d/smaps_rollup", pid), "Pss:") }

func statusKB(pid int, field string) int64 {
	return procField(fmt.Sprintf("/proc/%d/status", pid), field+":")
}

func procField(path, key string) int64 {
	b, err := os.ReadFile(path)
	if err != nil || pidZero(path) {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, key) {
			f := strings.Fields(l)
			if len(f) >= 2 {
				v, _ := strconv.ParseInt(f[1], 10, 64)
				return v
			}
		}
	}
	return 0
}

func pidZero(path string) bool { return strings.HasPrefix(path, "/proc/0/") }

func ppid(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0
	}
	p, _ := strconv.Atoi(f[1])
	return p
}

func mountsUnder(dir string) []string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
			out = append(out, f[4])
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(out))) // children before parents
	return out
}

// ---- formatting

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func dur(d time.Duration) string {
	if d == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

func ratio(a, floor time.Duration) string {
	if a == 0 || floor == 0 {
		return ""
	}
	return fmt.Sprintf("%.1f×", float64(a)/float64(floor))
}

func mib(kb int64) string { return fmt.Sprintf("%.2f MiB", float64(kb)/1024) }

func hostname() string {
	h, _ := os.Hostname()
	return h
}
