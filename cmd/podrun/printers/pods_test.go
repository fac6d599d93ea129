package printers

import (
	"bytes"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The seed's `kubectl get pods` and `kubectl get pods mypod -o wide --show-labels` (its
// whitespace was collapsed by the page; kubectl's tabwriter pads with 3 spaces).
func TestPrintPodsSeed(t *testing.T) {
	p := seedPod()
	now := p.CreationTimestamp.Add(3*time.Minute + 52*time.Second)
	tests := []struct {
		name string
		opts TableOptions
		want string
	}{
		{"default", TableOptions{}, "" +
			"NAME    READY   STATUS    RESTARTS   AGE\n" +
			"mypod   1/1     Running   0          3m52s\n"},
		{"wide labels", TableOptions{Wide: true, ShowLabels: true}, "" +
			"NAME    READY   STATUS    RESTARTS   AGE     IP            NODE         NOMINATED NODE   READINESS GATES   LABELS\n" +
			"mypod   1/1     Running   0          3m52s   10.244.2.13   k8s-node02   <none>           <none>            app=mypod,release=canary\n"},
		{"no headers", TableOptions{NoHeaders: true}, "" +
			"mypod   1/1   Running   0     3m52s\n"},
		{"all namespaces", TableOptions{WithNamespace: true}, "" +
			"NAMESPACE   NAME    READY   STATUS    RESTARTS   AGE\n" +
			"default     mypod   1/1     Running   0          3m52s\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := PrintPods(&b, []*v1.Pod{p}, tt.opts, now); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", b.String(), tt.want)
			}
		})
	}
}

func TestPrintPodsSeveral(t *testing.T) {
	now := mtime("2021-06-30T10:00:00Z").Time
	mk := func(name string, age time.Duration) *v1.Pod {
		p := seedPod()
		p.Name = name
		p.CreationTimestamp = metav1.NewTime(now.Add(-age))
		return p
	}
	bare := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "pending", Namespace: "default",
		CreationTimestamp: metav1.NewTime(now.Add(-46 * time.Second))},
		Spec:   v1.PodSpec{Containers: []v1.Container{{Name: "c"}}, ReadinessGates: []v1.PodReadinessGate{{ConditionType: "a"}, {ConditionType: "b"}}},
		Status: v1.PodStatus{Phase: v1.PodPending, Conditions: []v1.PodCondition{{Type: "a", Status: v1.ConditionTrue}}}}
	pods := []*v1.Pod{mk("demoapp-5f7d8f9847-jrfm6", 40*time.Hour), mk("mypod", 18*time.Hour+5*time.Minute), bare}
	var b bytes.Buffer
	if err := PrintPods(&b, pods, TableOptions{Wide: true, ShowLabels: true}, now); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"NAME                       READY   STATUS    RESTARTS   AGE   IP            NODE         NOMINATED NODE   READINESS GATES   LABELS\n" +
		"demoapp-5f7d8f9847-jrfm6   1/1     Running   0          40h   10.244.2.13   k8s-node02   <none>           <none>            app=mypod,release=canary\n" +
		"mypod                      1/1     Running   0          18h   10.244.2.13   k8s-node02   <none>           <none>            app=mypod,release=canary\n" +
		"pending                    0/1     Pending   0          46s   <none>        <none>       <none>           1/2               <none>\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	if err := PrintPods(&b, nil, TableOptions{}, now); err != nil || b.Len() != 0 {
		t.Errorf("empty list: %q, %v", b.String(), err)
	}
}

func TestPrintPodsEscapesAndTruncates(t *testing.T) {
	p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "a\x1b[31m"},
		Status: v1.PodStatus{Phase: v1.PodFailed, Reason: "Evicted\nsecond line"}}
	var b bytes.Buffer
	if err := PrintPods(&b, []*v1.Pod{p}, TableOptions{NoHeaders: true}, time.Now()); err != nil {
		t.Fatal(err)
	}
	want := "a^[[31m   0/0   Evicted...   0     <unknown>\n"
	if b.String() != want {
		t.Errorf("got %q want %q", b.String(), want)
	}
}

// Container state helpers for the STATUS table.
func running(name string, ready bool) v1.ContainerStatus {
	return v1.ContainerStatus{Name: name, Ready: ready, Started: ptr(true),
		State: v1.ContainerState{Running: &v1.ContainerStateRunning{}}}
}

func waiting(name, reason string) v1.ContainerStatus {
	return v1.ContainerStatus{Name: name, State: v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: reason}}}
}

func terminated(name, reason string, code, signal int32) v1.ContainerStatus {
	return v1.ContainerStatus{Name: name, State: v1.ContainerState{Terminated: &v1.ContainerStateTerminated{
		Reason: reason, ExitCode: code, Signal: signal}}}
}

func cond(t v1.PodConditionType, s v1.ConditionStatus) v1.PodCondition {
	return v1.PodCondition{Type: t, Status: s}
}

type podShape struct {
	name     string
	phase    v1.PodPhase
	reason   string
	deleted  bool
	inits    []v1.Container
	initSt   []v1.ContainerStatus
	apps     int
	appSt    []v1.ContainerStatus
	conds    []v1.PodCondition
	status   string
	ready    string
	restarts string
}

func (s podShape) pod() *v1.Pod {
	p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: s.name}}
	p.Spec.InitContainers = s.inits
	for i := 0; i < s.apps; i++ {
		p.Spec.Containers = append(p.Spec.Containers, v1.Container{Name: string(rune('a' + i))})
	}
	p.Status = v1.PodStatus{Phase: s.phase, Reason: s.reason, InitContainerStatuses: s.initSt,
		ContainerStatuses: s.appSt, Conditions: s.conds}
	if s.deleted {
		ts := metav1.NewTime(time.Unix(0, 0))
		p.DeletionTimestamp = &ts
	}
	return p
}

var (
	always  = ptr(v1.ContainerRestartPolicyAlways)
	init2   = []v1.Container{{Name: "i1"}, {Name: "i2"}}
	sidecar = []v1.Container{{Name: "s1", RestartPolicy: always}, {Name: "i2"}}
)

func TestPodStatusReadyRestarts(t *testing.T) {
	now := mtime("2021-06-29T10:00:00Z").Time
	restarted := func(st v1.ContainerStatus, n int32, ago time.Duration) v1.ContainerStatus {
		st.RestartCount = n
		st.LastTerminationState.Terminated = &v1.ContainerStateTerminated{ExitCode: 1, Reason: "Error",
			FinishedAt: metav1.NewTime(now.Add(-ago))}
		return st
	}
	tests := []podShape{
		{name: "pending no status", phase: v1.PodPending, apps: 1, status: "Pending", ready: "0/1", restarts: "0"},
		{name: "creating", phase: v1.PodPending, apps: 1, appSt: []v1.ContainerStatus{waiting("a", "ContainerCreating")},
			status: "ContainerCreating", ready: "0/1", restarts: "0"},
		{name: "running", phase: v1.PodRunning, apps: 2, appSt: []v1.ContainerStatus{running("a", true), running("b", true)},
			conds: []v1.PodCondition{cond(v1.PodReady, v1.ConditionTrue)}, status: "Running", ready: "2/2", restarts: "0"},
		{name: "running not ready", phase: v1.PodRunning, apps: 2, appSt: []v1.ContainerStatus{running("a", true), running("b", false)},
			status: "Running", ready: "1/2", restarts: "0"},
		{name: "crashloop", phase: v1.PodRunning, apps: 1,
			appSt:  []v1.ContainerStatus{restarted(waiting("a", "CrashLoopBackOff"), 3, 5*time.Minute)},
			status: "CrashLoopBackOff", ready: "0/1", restarts: "3 (5m ago)"},
		{name: "completed", phase: v1.PodSucceeded, apps: 1, appSt: []v1.ContainerStatus{terminated("a", "Completed", 0, 0)},
			status: "Completed", ready: "0/1", restarts: "0"},
		{name: "error", phase: v1.PodFailed, apps: 1, appSt: []v1.ContainerStatus{terminated("a", "Error", 1, 0)},
			status: "Error", ready: "0/1", restarts: "0"},
		{name: "oomkilled", phase: v1.PodFailed, apps: 1, appSt: []v1.ContainerStatus{terminated("a", "OOMKilled", 137, 0)},
			status: "OOMKilled", ready: "0/1", restarts: "0"},
		{name: "signal", phase: v1.PodFailed, apps: 1, appSt: []v1.ContainerStatus{terminated("a", "", 137, 9)},
			status: "Signal:9", ready: "0/1", restarts: "0"},
		{name: "exit code", phase: v1.PodFailed, apps: 1, appSt: []v1.ContainerStatus{terminated("a", "", 2, 0)},
			status: "ExitCode:2", ready: "0/1", restarts: "0"},
		{name: "first container wins", phase: v1.PodRunning, apps: 2,
			appSt:  []v1.ContainerStatus{waiting("a", "ImagePullBackOff"), waiting("b", "CrashLoopBackOff")},
			status: "ImagePullBackOff", ready: "0/2", restarts: "0"},
		{name: "completed next to running ready", phase: v1.PodRunning, apps: 2,
			appSt:  []v1.ContainerStatus{terminated("a", "Completed", 0, 0), running("b", true)},
			conds:  []v1.PodCondition{cond(v1.PodReady, v1.ConditionTrue)},
			status: "Running", ready: "1/2", restarts: "0"},
		{name: "completed next to running NotReady", phase: v1.PodRunning, apps: 2,
			appSt:  []v1.ContainerStatus{terminated("a", "Completed", 0, 0), running("b", true)},
			conds:  []v1.PodCondition{cond(v1.PodReady, v1.ConditionFalse)},
			status: "NotReady", ready: "1/2", restarts: "0"},
		{name: "init waiting PodInitializing", phase: v1.PodPending, inits: init2, apps: 1,
			initSt: []v1.ContainerStatus{waiting("i1", "PodInitializing"), waiting("i2", "PodInitializing")},
			appSt:  []v1.ContainerStatus{waiting("a", "PodInitializing")},
			status: "Init:0/2", ready: "0/1", restarts: "0"},
		{name: "init running second", phase: v1.PodPending, inits: init2, apps: 1,
			initSt: []v1.ContainerStatus{terminated("i1", "Completed", 0, 0), running("i2", false)},
			appSt:  []v1.ContainerStatus{waiting("a", "PodInitializing")},
			status: "Init:1/2", ready: "0/1", restarts: "0"},
		{name: "init failed", phase: v1.PodPending, inits: init2, apps: 1,
			initSt: []v1.ContainerStatus{terminated("i1", "Error", 1, 0), waiting("i2", "PodInitializing")},
			status: "Init:Error", ready: "0/1", restarts: "0"},
		{name: "init exit code", phase: v1.PodPending, inits: init2, apps: 1,
			initSt: []v1.ContainerStatus{terminated("i1", "", 3, 0)},
			status: "Init:ExitCode:3", ready: "0/1", restarts: "0"},
		{name: "init signal", phase: v1.PodPending, inits: init2, apps: 1,
			initSt: []v1.ContainerStatus{terminated("i1", "", 143, 15)},
			status: "Init:Signal:15", ready: "0/1", restarts: "0"},
		{name: "init crashloop counts init restarts", phase: v1.PodPending, inits: init2, apps: 1,
			initSt: []v1.ContainerStatus{restarted(waiting("i1", "CrashLoopBackOff"), 4, 30*time.Second)},
			status: "Init:CrashLoopBackOff", ready: "0/1", restarts: "4 (30s ago)"},
		{name: "pod initializing after inits", phase: v1.PodPending, inits: init2, apps: 1,
			initSt: []v1.ContainerStatus{terminated("i1", "Completed", 0, 0), terminated("i2", "Completed", 0, 0)},
			appSt:  []v1.ContainerStatus{waiting("a", "PodInitializing")},
			conds:  []v1.PodCondition{cond(v1.PodInitialized, v1.ConditionTrue)},
			status: "PodInitializing", ready: "0/1", restarts: "0"},
		{name: "sidecar started counts ready", phase: v1.PodRunning, inits: sidecar, apps: 1,
			initSt: []v1.ContainerStatus{restarted(running("s1", true), 2, 10*time.Minute), terminated("i2", "Completed", 0, 0)},
			appSt:  []v1.ContainerStatus{running("a", true)},
			conds:  []v1.PodCondition{cond(v1.PodInitialized, v1.ConditionTrue), cond(v1.PodReady, v1.ConditionTrue)},
			status: "Running", ready: "2/2", restarts: "2 (10m ago)"},
		{name: "sidecar started then init running", phase: v1.PodPending, inits: sidecar, apps: 1,
			initSt: []v1.ContainerStatus{running("s1", false), running("i2", false)},
			status: "Init:1/2", ready: "0/2", restarts: "0"},
		{name: "sidecar not started", phase: v1.PodPending, inits: sidecar, apps: 1,
			initSt: []v1.ContainerStatus{{Name: "s1", Started: ptr(false), State: v1.ContainerState{Running: &v1.ContainerStateRunning{}}}},
			status: "Init:0/2", ready: "0/2", restarts: "0"},
		{name: "terminating", phase: v1.PodRunning, deleted: true, apps: 1, appSt: []v1.ContainerStatus{running("a", true)},
			status: "Terminating", ready: "1/1", restarts: "0"},
		{name: "terminated pod being deleted keeps its status", phase: v1.PodSucceeded, deleted: true, apps: 1,
			appSt: []v1.ContainerStatus{terminated("a", "Completed", 0, 0)}, status: "Completed", ready: "0/1", restarts: "0"},
		{name: "node lost", phase: v1.PodRunning, reason: "NodeLost", deleted: true, apps: 1,
			appSt: []v1.ContainerStatus{running("a", true)}, status: "Unknown", ready: "1/1", restarts: "0"},
		{name: "evicted", phase: v1.PodFailed, reason: "Evicted", apps: 1, status: "Evicted", ready: "0/1", restarts: "0"},
		{name: "scheduling gated", phase: v1.PodPending, apps: 1,
			conds:  []v1.PodCondition{{Type: v1.PodScheduled, Status: v1.ConditionFalse, Reason: v1.PodReasonSchedulingGated}},
			status: "SchedulingGated", ready: "0/1", restarts: "0"},
		{name: "restarts sum and latest", phase: v1.PodRunning, apps: 2,
			appSt:  []v1.ContainerStatus{restarted(running("a", true), 1, 2*time.Hour), restarted(running("b", true), 2, 90*time.Second)},
			status: "Running", ready: "2/2", restarts: "3 (90s ago)"},
		{name: "restarts without last state", phase: v1.PodRunning, apps: 1,
			appSt:  []v1.ContainerStatus{{Name: "a", RestartCount: 5, Ready: true, State: v1.ContainerState{Running: &v1.ContainerStateRunning{}}}},
			status: "Running", ready: "1/1", restarts: "5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.pod()
			if got := PodStatus(p); got != tt.status {
				t.Errorf("PodStatus = %q, want %q", got, tt.status)
			}
			if got := PodReady(p); got != tt.ready {
				t.Errorf("PodReady = %q, want %q", got, tt.ready)
			}
			if got := PodRestarts(p, now); got != tt.restarts {
				t.Errorf("PodRestarts = %q, want %q", got, tt.restarts)
			}
		})
	}
}
