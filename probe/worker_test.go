package probe

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	clocktesting "k8s.io/utils/clock/testing"
)

func execProbe(p v1.Probe) *v1.Probe {
	p.Exec = &v1.ExecAction{Command: []string{"cat", "/tmp/healthy"}}
	return &p
}

type eventLog struct {
	mu     sync.Mutex
	events []Event
}

func (l *eventLog) record(e Event) {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
}

func (l *eventLog) messages() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, e := range l.events {
		out = append(out, e.Reason+": "+e.Message)
	}
	return out
}

// newTestWorker builds a worker of type typ over a container whose probe of that type is p.
func newTestWorker(t *testing.T, typ Type, p *v1.Probe, e Execer, fc *clocktesting.FakeClock, startup *Results) (*Worker, *Results, *eventLog) {
	t.Helper()
	c := &v1.Container{Name: "app"}
	switch typ {
	case Liveness:
		c.LivenessProbe = p
	case Readiness:
		c.ReadinessProbe = p
	case Startup:
		c.StartupProbe = p
	}
	res := NewResults(typ, 100)
	log := &eventLog{}
	w, err := NewWorker(WorkerConfig{
		Type:      typ,
		Target:    Target{Pod: &v1.Pod{ObjectMeta: metaPod()}, Container: c, ContainerID: "c1"},
		StartedAt: fc.Now(),
		Prober:    &Prober{Exec: e},
		Results:   res,
		Startup:   startup,
		Clock:     fc,
		Record:    log.record,
	})
	if err != nil {
		t.Fatal(err)
	}
	return w, res, log
}

// drain returns the updates published so far.
func drain(r *Results) []Update {
	var out []Update
	for {
		select {
		case u := <-r.Updates():
			out = append(out, u)
		default:
			return out
		}
	}
}

// TestWorkerThresholds drives DoProbe over a sequence of exit codes and checks, after each
// attempt, the published result ("" = none yet) — the kubelet's worker rules.
func TestWorkerThresholds(t *testing.T) {
	tests := []struct {
		name  string
		typ   Type
		probe v1.Probe
		codes []int    // exit code of each attempt
		want  []string // Results.Get after each attempt
	}{
		{"liveness fails after failureThreshold", Liveness, v1.Probe{FailureThreshold: 3},
			[]int{0, 1, 1, 0, 1, 1, 1, 0}, []string{"success", "success", "success", "success", "success", "success", "failure", "failure"}},
		{"liveness threshold 1", Liveness, v1.Probe{FailureThreshold: 1},
			[]int{1}, []string{"failure"}},
		{"readiness needs successThreshold in a row", Readiness, v1.Probe{SuccessThreshold: 2, FailureThreshold: 1},
			[]int{0, 1, 0, 0, 1, 0, 0}, []string{"", "failure", "failure", "success", "failure", "failure", "success"}},
		{"readiness recovers (not on hold)", Readiness, v1.Probe{FailureThreshold: 2},
			[]int{0, 1, 1, 0}, []string{"success", "success", "failure", "success"}},
		{"startup fails after failureThreshold", Startup, v1.Probe{FailureThreshold: 2},
			[]int{1, 1, 0}, []string{"", "failure", "failure"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fc := clocktesting.NewFakeClock(time.Now())
			e := &scripted{codes: tc.codes}
			w, res, _ := newTestWorker(t, tc.typ, execProbe(tc.probe), e, fc, nil)
			if tc.typ == Liveness {
				res.Set("c1", "uid-1", Success, "") // what Run publishes first
			}
			for i, want := range tc.want {
				w.DoProbe(context.Background())
				got := ""
				if r, ok := res.Get("c1"); ok {
					got = r.String()
				}
				if got != want {
					t.Fatalf("after attempt %d: result %q, want %q", i+1, got, want)
				}
			}
		})
	}
}

func TestWorkerLivenessOnHoldAfterFailure(t *testing.T) {
	fc := clocktesting.NewFakeClock(time.Now())
	e := &scripted{codes: []int{1}}
	w, res, log := newTestWorker(t, Liveness, execProbe(v1.Probe{FailureThreshold: 3}), e, fc, nil)
	for range 6 {
		w.DoProbe(context.Background())
	}
	if e.count() != 3 {
		t.Fatalf("probed %d times, want 3 (on hold after the failure was published)", e.count())
	}
	ups := drain(res)
	if len(ups) != 1 || ups[0].Result != Failure || ups[0].ProbeType != Liveness || ups[0].PodUID != "uid-1" ||
		!strings.HasPrefix(ups[0].Message, "cat: can't open") {
		t.Fatalf("updates %+v", ups)
	}
	msgs := log.messages()
	if len(msgs) != 3 || msgs[0] != "Unhealthy: Liveness probe failed: cat: can't open '/tmp/healthy': No such file or directory\n" {
		t.Fatalf("events %q", msgs)
	}
}

func TestWorkerInitialDelay(t *testing.T) {
	fc := clocktesting.NewFakeClock(time.Now())
	e := &scripted{codes: []int{0}}
	w, _, _ := newTestWorker(t, Readiness, execProbe(v1.Probe{InitialDelaySeconds: 5}), e, fc, nil)
	w.DoProbe(context.Background())
	fc.Step(4999 * time.Millisecond)
	w.DoProbe(context.Background())
	if e.count() != 0 {
		t.Fatalf("probed %d times before initialDelaySeconds", e.count())
	}
	fc.Step(time.Millisecond)
	w.DoProbe(context.Background())
	if e.count() != 1 {
		t.Fatalf("probed %d times after initialDelaySeconds", e.count())
	}
}

func TestWorkerStartupGating(t *testing.T) {
	fc := clocktesting.NewFakeClock(time.Now())
	startup := NewResults(Startup, 10)
	e := &scripted{codes: []int{0}}
	live, _, _ := newTestWorker(t, Liveness, execProbe(v1.Probe{}), e, fc, startup)
	ready, rres, _ := newTestWorker(t, Readiness, execProbe(v1.Probe{}), e, fc, startup)
	live.DoProbe(context.Background())
	ready.DoProbe(context.Background())
	startup.Set("c1", "uid-1", Failure, "")
	live.DoProbe(context.Background())
	if e.count() != 0 {
		t.Fatalf("liveness/readiness probed %d times before startup succeeded", e.count())
	}
	startup.Set("c1", "uid-1", Success, "")
	live.DoProbe(context.Background())
	ready.DoProbe(context.Background())
	if e.count() != 2 {
		t.Fatalf("probed %d times after startup, want 2", e.count())
	}
	if r, _ := rres.Get("c1"); r != Success {
		t.Fatalf("readiness %v", r)
	}
}

func TestWorkerStartupStopsAfterSuccess(t *testing.T) {
	fc := clocktesting.NewFakeClock(time.Now())
	e := &scripted{codes: []int{1, 0}}
	w, res, _ := newTestWorker(t, Startup, execProbe(v1.Probe{FailureThreshold: 30}), e, fc, nil)
	started := 0
	w.cfg.OnStarted = func() { started++ }
	for range 5 {
		w.DoProbe(context.Background())
	}
	if e.count() != 2 || started != 1 {
		t.Fatalf("probed %d times, OnStarted %d times; want 2 and 1", e.count(), started)
	}
	if r, _ := res.Get("c1"); r != Success {
		t.Fatalf("startup %v", r)
	}
}

func TestWorkerErrorsAndWarnings(t *testing.T) {
	fc := clocktesting.NewFakeClock(time.Now())
	// Exec without a command: the probe cannot run; the attempt is reported and dropped.
	p := &v1.Probe{ProbeHandler: v1.ProbeHandler{Exec: &v1.ExecAction{}}, FailureThreshold: 1}
	w, res, log := newTestWorker(t, Liveness, p, exitWith(0, "", ""), fc, nil)
	w.DoProbe(context.Background())
	if _, ok := res.Get("c1"); ok {
		t.Fatal("an errored probe published a result")
	}
	if m := log.messages(); len(m) != 1 || m[0] != "Unhealthy: Liveness probe errored and resulted in unknown state: exec probe: empty command" {
		t.Fatalf("events %q", m)
	}

	// Warning (a redirect to another host) counts as success and is reported as ProbeWarning.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://localhost:1/", http.StatusFound)
	}))
	defer srv.Close()
	host, port := hostPort(t, srv.URL)
	hp := &v1.Probe{ProbeHandler: v1.ProbeHandler{HTTPGet: &v1.HTTPGetAction{Host: host, Port: intstr.FromInt(port)}}}
	w2, res2, log2 := newTestWorker(t, Readiness, hp, nil, fc, nil)
	w2.DoProbe(context.Background())
	if r, _ := res2.Get("c1"); r != Success {
		t.Fatalf("readiness after a warning: %v", r)
	}
	if m := log2.messages(); len(m) != 1 || !strings.HasPrefix(m[0], "ProbeWarning: Readiness probe warning: Probe terminated redirects, Response body: ") {
		t.Fatalf("events %q", m)
	}
	if u := drain(res2); len(u) != 1 || u[0].Result != Success {
		t.Fatalf("updates %+v", u)
	}
}
