package main

// Pod network figures (issue 5, part 7): the cost of one pod's network setup + teardown
// (network.Manager directly, on a bridge, CIDR and nftables table of the bench's own), and
// pods started per second through the real daemon with the bridge network, with
// --network=none and with hostNetwork pods, beside each other.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	v1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/network"
	"github.com/podrun/podrun/sandbox/nsfs"
)

// netBenchNames are the bridge, CIDR and table of one bench run: never podrun0, 10.88.0.0/16
// or "podrun", so that a user's pod network is not touched.
func netBenchNames() (bridge, cidr, table string) {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)[:5]
	return "prb" + h, fmt.Sprintf("10.%d.%d.0/24", 200+int(b[0])%50, b[1]), "podrun_bench_" + h
}

// networkBench adds the network rows to b's table. runs is the number of setup/teardown
// samples; podsPerBatch the pods started at once for the pods/s figures.
func (b *bench) networkBench(runs, podsPerBatch int, busyboxTar string) error {
	setup, teardown, both, err := networkSetupTeardown(runs * 5)
	if err != nil {
		return fmt.Errorf("network setup/teardown: %w", err)
	}
	b.add("network setup (veth, IP, hostPort; Manager)", dur(setup), "", "", "")
	b.add("network teardown (Manager)", dur(teardown), "", "", "most of it: the kernel's veth delete")
	b.add("network setup + teardown per pod", dur(both), "", "", "")

	type mode struct {
		name, flag  string
		hostNetwork bool
	}
	modes := []mode{{"bridge", "bridge", false}, {"--network=none", "none", false}, {"hostNetwork", "bridge", true}}
	rates := map[string]float64{}
	starts := map[string]time.Duration{}
	for _, md := range modes {
		rate, start, err := podsPerSecond(b.bin, md.flag, md.hostNetwork, podsPerBatch, runs, busyboxTar)
		if err != nil {
			return fmt.Errorf("pods/s with %s: %w", md.name, err)
		}
		rates[md.name], starts[md.name] = rate, start
	}
	for _, md := range modes {
		// floor column: the bridge's rate; ratio: this mode's rate over it.
		b.add(fmt.Sprintf("pods/s, %d at once (%s)", podsPerBatch, md.name), fmt.Sprintf("%.1f/s", rates[md.name]),
			fmt.Sprintf("%.1f/s", rates["bridge"]), fmt.Sprintf("%.2f×", rates[md.name]/rates["bridge"]), "floor = bridge")
	}
	for _, md := range modes {
		b.add(fmt.Sprintf("pod start, one at a time (%s)", md.name), dur(starts[md.name]), dur(starts["--network=none"]),
			ratio(starts[md.name], starts["--network=none"]), "floor = --network=none")
	}
	return nil
}

// networkSetupTeardown times Manager.Setup and Teardown of one pod with a hostPort on a fresh
// netns each time; it removes the bridge, table and state after.
func networkSetupTeardown(n int) (setup, teardown, both time.Duration, err error) {
	dir, err := os.MkdirTemp("", "podrun-netbench-")
	if err != nil {
		return 0, 0, 0, err
	}
	defer os.RemoveAll(dir)
	bridge, cidr, table := netBenchNames()
	m, err := network.New(network.Config{Bridge: bridge, PodCIDR: cidr, Table: table, StateDir: dir,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return 0, 0, 0, err
	}
	defer func() {
		if rerr := m.Reset(context.Background()); rerr != nil && err == nil {
			err = rerr
		}
	}()
	pod := &v1.Pod{}
	pod.Name, pod.Namespace = "bench", "default"
	pod.Spec.Containers = []v1.Container{{Name: "c", Ports: []v1.ContainerPort{{ContainerPort: 80, HostPort: 0, Protocol: v1.ProtocolTCP}}}}
	var sd, td, bd []time.Duration
	ctx := context.Background()
	for i := 0; i < n+1; i++ {
		nsPath := filepath.Join(dir, fmt.Sprintf("netns-%d", i))
		if err := pinNewNetns(nsPath); err != nil {
			return 0, 0, 0, err
		}
		// A hostPort per pod, so that the nftables part is measured too.
		pod.Spec.Containers[0].Ports[0].HostPort = int32(30000 + i)
		id := fmt.Sprintf("%064x", i+1)
		t0 := time.Now()
		_, serr := m.Setup(ctx, id, nsPath, pod)
		t1 := time.Now()
		terr := m.Teardown(ctx, id, nsPath)
		t2 := time.Now()
		_ = nsfs.Unpin(nsPath)
		if serr != nil {
			return 0, 0, 0, serr
		}
		if terr != nil {
			return 0, 0, 0, terr
		}
		if i == 0 {
			continue // warm-up: the bridge and the table are made by the first Setup
		}
		sd, td, bd = append(sd, t1.Sub(t0)), append(td, t2.Sub(t1)), append(bd, t2.Sub(t0))
	}
	return median(sd), median(td), median(bd), nil
}

// pinNewNetns pins a new network namespace on path, as the sandbox pins <state>/netns/<id>:
// a short-lived child made in it holds it until it is pinned.
func pinNewNetns(path string) error {
	cmd := exec.Command("sleep", "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("netns holder: %w", err)
	}
	err := nsfs.PinNamespace(cmd.Process.Pid, "net", path)
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	return err
}

// podsPerSecond starts a daemon with --network=mode (on a network of its own), then measures
// (1) batches of n pods created at once through the API until all run, as pods per second
// (median of the batches), and (2) the median start of one pod at a time.
func podsPerSecond(bin, mode string, hostNetwork bool, n, runs int, busyboxTar string) (rate float64, start time.Duration, err error) {
	nb, err := newBench(bin)
	if err != nil {
		return 0, 0, err
	}
	// cleanup removes the daemon's own network (bridge, table, addresses) with it.
	defer nb.cleanup()
	// The daemon reads --network from $PODRUN_NETWORK; startDaemon gives it a bridge, CIDR and
	// table of its own.
	prev, had := os.LookupEnv("PODRUN_NETWORK")
	os.Setenv("PODRUN_NETWORK", mode)
	err = nb.startDaemon()
	if had {
		os.Setenv("PODRUN_NETWORK", prev)
	} else {
		os.Unsetenv("PODRUN_NETWORK")
	}
	if err != nil {
		return 0, 0, err
	}
	ctx := context.Background()
	f, err := os.Open(busyboxTar)
	if err != nil {
		return 0, 0, err
	}
	_, err = nb.client.LoadImages(ctx, f)
	f.Close()
	if err != nil {
		return 0, 0, fmt.Errorf("load busybox image: %w", err)
	}
	mk := func(name string) *v1.Pod {
		p := sleeper(name)
		zero := int64(0)
		p.Spec.TerminationGracePeriodSeconds = &zero
		p.Spec.HostNetwork = hostNetwork
		return p
	}
	// One at a time (after a warm-up pod).
	var ds []time.Duration
	for i := 0; i < runs+1; i++ {
		name := fmt.Sprintf("one-%d", i)
		t0 := time.Now()
		if _, err := nb.client.CreatePod(ctx, ns, mk(name)); err != nil {
			return 0, 0, err
		}
		if err := nb.waitRunning(ctx, name); err != nil {
			return 0, 0, err
		}
		if i > 0 {
			ds = append(ds, time.Since(t0))
		}
		if err := nb.deleteAndWait(ctx, name); err != nil {
			return 0, 0, err
		}
	}
	// Batches.
	var rates []time.Duration // time per batch; turned into a rate below
	for r := 0; r < 3; r++ {
		t0 := time.Now()
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				name := fmt.Sprintf("batch-%d-%d", r, i)
				if _, err := nb.client.CreatePod(ctx, ns, mk(name)); err != nil {
					errs[i] = err
					return
				}
				errs[i] = nb.waitRunning(ctx, name)
			}(i)
		}
		wg.Wait()
		d := time.Since(t0)
		for _, e := range errs {
			if e != nil {
				return 0, 0, e
			}
		}
		rates = append(rates, d)
		for i := 0; i < n; i++ {
			if err := nb.deleteAndWait(ctx, fmt.Sprintf("batch-%d-%d", r, i)); err != nil {
				return 0, 0, err
			}
		}
	}
	return float64(n) / median(rates).Seconds(), median(ds), nil
}
