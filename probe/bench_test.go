package probe

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	clocktesting "k8s.io/utils/clock/testing"
)

// cpuTime is the process's user+system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds "cpu-ns/op": CPU of the whole test process per operation (all goroutines),
// which is what the daemon pays, unlike ns/op (wall clock).
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
}

// BenchmarkExecProbe is the prober's own cost around one exec probe (the runtime's exec is
// faked: the real exec cost is the runtime's, measured through it by `make bench`).
func BenchmarkExecProbe(b *testing.B) {
	pr := &Prober{Exec: exitWith(0, "ok\n", "")}
	p := execProbe(v1.Probe{})
	tgt := &Target{ContainerID: "c1", Container: &v1.Container{Name: "app"}}
	b.ReportAllocs()
	start := cpuTime(b)
	for b.Loop() {
		if r, _, _ := pr.Probe(context.Background(), p, tgt); r != Success {
			b.Fatal(r)
		}
	}
	reportCPU(b, start)
}

// BenchmarkWorkerTick is one worker tick (policy + probe + results) with a fake exec.
func BenchmarkWorkerTick(b *testing.B) {
	fc := clocktesting.NewFakeClock(time.Now())
	c := &v1.Container{Name: "app", LivenessProbe: execProbe(v1.Probe{})}
	w, err := NewWorker(WorkerConfig{Type: Liveness, Target: Target{Pod: &v1.Pod{ObjectMeta: metaPod()}, Container: c, ContainerID: "c1"},
		StartedAt: fc.Now(), Prober: &Prober{Exec: exitWith(0, "", "")}, Results: NewResults(Liveness, 10), Clock: fc})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	start := cpuTime(b)
	for b.Loop() {
		w.DoProbe(context.Background())
	}
	reportCPU(b, start)
}

// BenchmarkManager50Containers: 50 containers with a 1 s exec liveness probe; one op is one
// second of probing (50 probes) driven by a fake clock. cpu-ns/op over 1e9 is the share of one
// core the prober machinery takes at that load, exec excluded.
func BenchmarkManager50Containers(b *testing.B) {
	fc := clocktesting.NewFakeClock(time.Now())
	e := &scripted{codes: []int{0}}
	m := NewManager(ManagerConfig{Prober: &Prober{Exec: e}, Clock: fc})
	defer m.Stop()
	// The pod manager drains updates concurrently; workers block on a full channel.
	go func() {
		for range m.Liveness().Updates() {
		}
	}()
	for i := range 50 {
		id := fmt.Sprintf("c%d", i)
		c := &v1.Container{Name: id, LivenessProbe: execProbe(v1.Probe{PeriodSeconds: 1})}
		m.AddContainer(Target{Pod: &v1.Pod{ObjectMeta: metaPod()}, Container: c, ContainerID: id}, fc.Now())
	}
	// Wait for the first round.
	for e.count() < 50 {
		time.Sleep(time.Millisecond)
	}
	b.ReportAllocs()
	start := cpuTime(b)
	want := e.count()
	for b.Loop() {
		want += 50
		fc.Step(time.Second)
		for e.count() < want {
			time.Sleep(50 * time.Microsecond)
		}
	}
	reportCPU(b, start)
}

func BenchmarkHTTPProbe(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	a := &v1.HTTPGetAction{Path: "/", Port: intstr.FromInt(port)}
	b.ReportAllocs()
	start := cpuTime(b)
	for b.Loop() {
		if r, out, _ := HTTPGet(context.Background(), a, nil, "127.0.0.1", time.Second, nil); r != Success {
			b.Fatal(r, out)
		}
	}
	reportCPU(b, start)
}

func BenchmarkTCPProbe(b *testing.B) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	addr := l.Addr().String()
	b.ReportAllocs()
	start := cpuTime(b)
	for b.Loop() {
		if r, out, _ := DialTCP(context.Background(), addr, time.Second, nil); r != Success {
			b.Fatal(r, out)
		}
	}
	reportCPU(b, start)
}
