package main

// Exec-probe cost (issue 3, part 8): what one exec probe costs in CPU, all processes
// included, and the daemon's share of one core with many containers probed every second,
// beside the raw libcontainer exec floor.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	v1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/runtime"
)

// clkTck is USER_HZ, the unit of the times in /proc/PID/stat: 100 on every Linux ABI Go
// supports (sysconf(_SC_CLK_TCK) needs cgo).
const clkTck = 100

// procCPU is utime+stime of pid and, separately, cutime+cstime: the CPU of its children that
// it has waited for. An exec'd probe process is the daemon's child (libcontainer's nsenter
// clones it with CLONE_PARENT), so its CPU lands in the daemon's cutime/cstime once reaped.
func procCPU(pid int) (self, children time.Duration, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	// After ") ": state(3) ppid(4) … utime(14) stime(15) cutime(16) cstime(17).
	f := strings.Fields(s[i+1:])
	if len(f) < 15 {
		return 0, 0, fmt.Errorf("parse /proc/%d/stat: %d fields", pid, len(f))
	}
	var t [4]int64
	for k := range t {
		if t[k], err = strconv.ParseInt(f[11+k], 10, 64); err != nil {
			return 0, 0, fmt.Errorf("parse /proc/%d/stat: %w", pid, err)
		}
	}
	tick := time.Second / clkTck
	return time.Duration(t[0]+t[1]) * tick, time.Duration(t[2]+t[3]) * tick, nil
}

// selfCPU is this process's CPU plus that of its reaped children (getrusage).
func selfCPU() time.Duration {
	var self, ch syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ch)
	tv := func(t syscall.Timeval) time.Duration { return time.Duration(t.Nano()) }
	return tv(self.Utime) + tv(self.Stime) + tv(ch.Utime) + tv(ch.Stime)
}

// floorExecCPU is the CPU of one raw libcontainer exec of /bin/true: FloorExec (container
// up, one exec, container down) minus FloorCreateStart (container up and down), medians.
func (b *bench) floorExecCPU(runs int) (time.Duration, error) {
	rootfs, err := busyboxRootfs(filepath.Join(b.dir, "floor-rootfs"))
	if err != nil {
		return 0, err
	}
	ctx := context.Background()
	stateDir := filepath.Join(b.dir, "floor-state")
	var withExec, without []time.Duration
	for i := 0; i < runs+1; i++ {
		c0 := selfCPU()
		if _, err := runtime.FloorExec(ctx, stateDir, rootfs, []string{"/bin/true"}); err != nil {
			return 0, fmt.Errorf("FloorExec: %w", err)
		}
		c1 := selfCPU()
		if _, _, err := runtime.FloorCreateStart(ctx, stateDir, rootfs, []string{"/bin/true"}); err != nil {
			return 0, fmt.Errorf("FloorCreateStart: %w", err)
		}
		c2 := selfCPU()
		if i > 0 {
			withExec, without = append(withExec, c1-c0), append(without, c2-c1)
		}
	}
	d := median(withExec) - median(without)
	if d < 0 {
		d = 0
	}
	return d, nil
}

// execServer is the pid of the daemon's exec server (`podrun-runner serve`, or `podrun runner
// serve`, a child of the daemon), 0 when none runs.
func (b *bench) execServer() int {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil || ppid(pid) != b.daemon.Process.Pid {
			continue
		}
		if c, _ := os.ReadFile(d + "/cmdline"); strings.Contains(string(c), "serve\x00") {
			return pid
		}
	}
	return 0
}

// probedPod is a sleeper whose container has an exec readiness probe every period; each
// probe appends a line to a hostPath file, so the probes run in a window can be counted.
func probedPod(name, countDir string, period int32) *v1.Pod {
	p := sleeper(name)
	p.Spec.Volumes = []v1.Volume{{Name: "count", VolumeSource: v1.VolumeSource{
		HostPath: &v1.HostPathVolumeSource{Path: countDir}}}}
	c := &p.Spec.Containers[0]
	c.VolumeMounts = []v1.VolumeMount{{Name: "count", MountPath: "/count"}}
	c.ReadinessProbe = &v1.Probe{
		ProbeHandler: v1.ProbeHandler{Exec: &v1.ExecAction{
			Command: []string{"sh", "-c", "echo >> /count/" + name}}},
		PeriodSeconds: period, TimeoutSeconds: 1, FailureThreshold: 3, SuccessThreshold: 1,
	}
	return p
}

// countLines is the number of probe lines written so far by every pod.
func countLines(dir string) int {
	ents, _ := os.ReadDir(dir)
	n := 0
	for _, e := range ents {
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		n += strings.Count(string(b), "\n")
	}
	return n
}

// probeCost runs pods single-container pods, each exec-probed every second, and measures
// the CPU of the daemon and its exec server (their own, and with the reaped probe processes)
// over windows of window
// each: CPU per probe and % of one core, medians over the windows. It adds its rows to the
// table and deletes its pods.
func (b *bench) probeCost(ctx context.Context, runs, pods, windows int, window time.Duration) error {
	floor, ferr := b.floorExecCPU(runs)
	if ferr != nil {
		fmt.Fprintf(os.Stderr, "probe floor: %v\n", ferr)
	}
	countDir := filepath.Join(b.dir, "probe-count")
	if err := os.MkdirAll(countDir, 0o755); err != nil {
		return err
	}
	names := make([]string, pods)
	for i := range names {
		names[i] = fmt.Sprintf("probed-%d", i)
		if _, err := b.client.CreatePod(ctx, ns, probedPod(names[i], countDir, 1)); err != nil {
			return fmt.Errorf("create %s: %w", names[i], err)
		}
	}
	defer func() {
		zero := int64(0)
		for _, n := range names {
			_, _ = b.client.DeletePod(ctx, ns, n, api.DeleteOptions{GracePeriodSeconds: &zero, Force: true})
		}
		for _, n := range names {
			_ = b.waitGone(ctx, n)
		}
	}()
	for _, n := range names {
		if err := b.waitRunning(ctx, n); err != nil {
			return err
		}
	}
	time.Sleep(3 * time.Second) // probes settle (initial delays, first runs)
	pid := b.daemon.Process.Pid
	// The daemon's execs run in its exec server (podrun-runner serve, its child): its CPU and
	// that of the probe processes it reaps count with the daemon's.
	server := b.execServer() // 0 for a podrun that execs in the daemon itself
	var perProbe, total, selfPct, allPct []float64
	for w := 0; w < windows; w++ {
		s0, c0, err := procCPU(pid)
		if err != nil {
			return err
		}
		var ss0, sc0, ss1, sc1 time.Duration
		if server != 0 {
			if ss0, sc0, err = procCPU(server); err != nil {
				return fmt.Errorf("exec server: %w", err)
			}
		}
		n0, t0 := countLines(countDir), time.Now()
		time.Sleep(window)
		s1, c1, err := procCPU(pid)
		if err != nil {
			return err
		}
		if server != 0 {
			if ss1, sc1, err = procCPU(server); err != nil {
				return fmt.Errorf("exec server (restarted during the window?): %w", err)
			}
		}
		n1, el := countLines(countDir), time.Since(t0)
		probes := n1 - n0
		if probes <= 0 {
			return fmt.Errorf("no probe ran in %v", window)
		}
		self := (s1 - s0) + (ss1 - ss0)
		all := self + (c1 - c0) + (sc1 - sc0)
		perProbe = append(perProbe, float64(all)/float64(probes)/1e6)
		total = append(total, float64(probes)/el.Seconds())
		selfPct = append(selfPct, 100*float64(self)/float64(el))
		allPct = append(allPct, 100*float64(all)/float64(el))
	}
	b.add("exec probe CPU, all processes (per probe)", fmt.Sprintf("%.2f ms", medianF(perProbe)), dur(floor), ratioF(medianF(perProbe), float64(floor)/1e6), "≤ 10 ms")
	b.add(fmt.Sprintf("daemon + exec server CPU, %d containers probed every 1 s", pods), fmt.Sprintf("%.1f %%", medianF(selfPct)), "", "", "< 20 % of one core")
	b.add("  … with the probe processes they reap", fmt.Sprintf("%.1f %%", medianF(allPct)), "", "", fmt.Sprintf("%.0f probes/s measured", medianF(total)))
	return nil
}

func medianF(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func ratioF(v, floor float64) string {
	if floor <= 0 {
		return ""
	}
	return fmt.Sprintf("%.1f×", v/floor)
}
