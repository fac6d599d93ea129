package pod

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/podrun/podrun/cri"
)

type testEnv struct {
	t      *testing.T
	root   string
	logDir string
	rt     *fakeRuntime
	img    *fakeImages
	m      *Manager
	base   time.Duration // back-off base
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	env := &testEnv{t: t, root: t.TempDir(), logDir: t.TempDir(), rt: newFakeRuntime(), img: newFakeImages("busybox:1.36", "demo:v1"),
		base: 30 * time.Millisecond}
	env.m = env.start()
	return env
}

// start makes a new Manager on the same Root and runtime (a daemon restart).
func (env *testEnv) start() *Manager {
	env.t.Helper()
	m, err := NewManager(Config{Root: env.root, LogDir: env.logDir, NodeName: "node1", HostIP: "192.0.2.1",
		Runtime: env.rt, Images: env.img, BackoffBase: env.base, BackoffMax: 4 * env.base})
	if err != nil {
		env.t.Fatal(err)
	}
	if err := m.Start(context.Background()); err != nil {
		env.t.Fatal(err)
	}
	env.t.Cleanup(m.Shutdown)
	return m
}

func testPod(name string, restart v1.RestartPolicy, cmds ...[]string) *v1.Pod {
	p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": name}},
		Spec: v1.PodSpec{RestartPolicy: restart}}
	for i, cmd := range cmds {
		p.Spec.Containers = append(p.Spec.Containers, v1.Container{
			Name: "c" + string(rune('0'+i)), Image: "busybox:1.36", Command: cmd})
	}
	return p
}

// waitFor waits (driven by the watch, not by polling) until cond holds for the pod.
func waitFor(t *testing.T, m *Manager, name string, what string, cond func(p *v1.Pod) bool) *v1.Pod {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ch, err := m.Watch(ctx, "default", nil)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := m.Get("default", name); err == nil && cond(p) {
		return p
	}
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				if p, err := m.Get("default", name); err == nil && cond(p) {
					return p
				}
				ch, _ = m.Watch(ctx, "default", nil)
				if ch == nil || ctx.Err() != nil {
					t.Fatalf("timed out waiting for %s", what)
				}
				continue
			}
			p := ev.Object.(*v1.Pod)
			if p.Name == name && ev.Type != watch.Deleted && cond(p) {
				return p
			}
		case <-ctx.Done():
			p, _ := m.Get("default", name)
			t.Fatalf("timed out waiting for %s; pod status: %+v", what, p.Status)
		}
	}
}

func phaseIs(ph v1.PodPhase) func(*v1.Pod) bool {
	return func(p *v1.Pod) bool { return p.Status.Phase == ph }
}

func cond(p *v1.Pod, t v1.PodConditionType) v1.PodCondition {
	for _, c := range p.Status.Conditions {
		if c.Type == t {
			return c
		}
	}
	return v1.PodCondition{}
}

func TestInitContainersRunInOrderThenApps(t *testing.T) {
	env := newTestEnv(t)
	p := testPod("web", v1.RestartPolicyAlways, []string{"serve"}, []string{"serve"})
	p.Spec.InitContainers = []v1.Container{
		{Name: "init-a", Image: "busybox:1.36", Command: []string{"exit", "0", "10ms"}},
		{Name: "init-b", Image: "busybox:1.36", Command: []string{"exit", "0"}},
	}
	if _, err := env.m.Create(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	got := waitFor(t, env.m, "web", "Running and ready", func(p *v1.Pod) bool {
		return p.Status.Phase == v1.PodRunning && cond(p, v1.PodReady).Status == v1.ConditionTrue
	})
	ops := env.rt.opsCopy()
	idx := func(op string) int {
		for i, o := range ops {
			if o == op {
				return i
			}
		}
		t.Fatalf("op %q missing in %v", op, ops)
		return -1
	}
	if !(idx("runsandbox") < idx("create init-a") && idx("start init-a") < idx("create init-b") &&
		idx("start init-b") < idx("create c0") && idx("start init-b") < idx("create c1")) {
		t.Errorf("wrong order: %v", ops)
	}
	for _, s := range got.Status.InitContainerStatuses {
		if s.State.Terminated == nil || s.State.Terminated.Reason != "Completed" || !s.Ready {
			t.Errorf("init %s: %+v", s.Name, s)
		}
	}
	for _, s := range got.Status.ContainerStatuses {
		if s.State.Running == nil || !s.Ready || !strings.HasPrefix(s.ContainerID, "podrun://") ||
			s.ImageID != "docker.io/library/busybox:1.36@sha256:abc" || s.Image != "busybox:1.36" {
			t.Errorf("container %s: %+v", s.Name, s)
		}
	}
	if c := cond(got, v1.PodInitialized); c.Status != v1.ConditionTrue {
		t.Errorf("Initialized = %+v", c)
	}
	if got.Status.PodIP != "10.88.0.5" || got.Status.HostIP != "192.0.2.1" || got.Status.StartTime == nil ||
		got.Status.QOSClass != v1.PodQOSBestEffort {
		t.Errorf("status = %+v", got.Status)
	}
	evs, _ := env.m.Events("default", "web")
	var reasons []string
	for _, e := range evs {
		reasons = append(reasons, e.Reason+":"+e.InvolvedObject.FieldPath+":"+e.Message)
	}
	all := strings.Join(reasons, "\n")
	for _, want := range []string{
		"Scheduled::Successfully assigned default/web to node1",
		`Pulled:spec.initContainers{init-a}:Container image "busybox:1.36" already present on machine`,
		"Created:spec.initContainers{init-a}:Created container: init-a",
		"Started:spec.containers{c1}:Started container c1",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("missing event %q in\n%s", want, all)
		}
	}
}

func TestRestartPolicies(t *testing.T) {
	tests := []struct {
		name     string
		policy   v1.RestartPolicy
		cmd      []string
		phase    v1.PodPhase
		restarts int32
	}{
		{"never-ok", v1.RestartPolicyNever, []string{"exit", "0"}, v1.PodSucceeded, 0},
		{"never-fail", v1.RestartPolicyNever, []string{"exit", "3"}, v1.PodFailed, 0},
		{"onfailure-ok", v1.RestartPolicyOnFailure, []string{"exit", "0"}, v1.PodSucceeded, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newTestEnv(t)
			if _, err := env.m.Create(context.Background(), testPod(tc.name, tc.policy, tc.cmd)); err != nil {
				t.Fatal(err)
			}
			got := waitFor(t, env.m, tc.name, string(tc.phase), func(p *v1.Pod) bool {
				return p.Status.Phase == tc.phase && cond(p, v1.PodReadyToStartContainers).Status == v1.ConditionFalse
			})
			s := got.Status.ContainerStatuses[0]
			if s.RestartCount != tc.restarts || s.State.Terminated == nil {
				t.Errorf("status = %+v", s)
			}
			if c := cond(got, v1.PodReadyToStartContainers); c.Status != v1.ConditionFalse {
				t.Errorf("sandbox of a finished pod should be stopped: %+v", c)
			}
			if tc.phase == v1.PodSucceeded && cond(got, v1.PodReady).Reason != reasonPodCompleted {
				t.Errorf("Ready = %+v", cond(got, v1.PodReady))
			}
		})
	}
}

func TestCrashLoopBackOff(t *testing.T) {
	env := newTestEnv(t)
	// A base long enough that the back-off is not over before the worker gets to it, even
	// under the race detector.
	env.m.Shutdown()
	env.base = 150 * time.Millisecond
	env.m = env.start()
	if _, err := env.m.Create(context.Background(), testPod("crash", v1.RestartPolicyAlways, []string{"exit", "2"})); err != nil {
		t.Fatal(err)
	}
	got := waitFor(t, env.m, "crash", "CrashLoopBackOff", func(p *v1.Pod) bool {
		s := p.Status.ContainerStatuses
		return len(s) == 1 && s[0].State.Waiting != nil && s[0].State.Waiting.Reason == reasonCrashLoopBackOff
	})
	s := got.Status.ContainerStatuses[0]
	wantMsg := "back-off 150ms restarting failed container=c0 pod=crash_default(" + string(got.UID) + ")"
	if s.State.Waiting.Message != wantMsg {
		t.Errorf("message = %q, want %q", s.State.Waiting.Message, wantMsg)
	}
	if s.LastTerminationState.Terminated == nil || s.LastTerminationState.Terminated.ExitCode != 2 || s.RestartCount < 1 {
		t.Errorf("status = %+v", s)
	}
	if got.Status.Phase != v1.PodRunning {
		t.Errorf("phase = %s", got.Status.Phase)
	}
	got = waitFor(t, env.m, "crash", "restartCount 3", func(p *v1.Pod) bool {
		return p.Status.ContainerStatuses[0].RestartCount >= 3
	})
	evs, _ := env.m.Events("default", "crash")
	found := false
	for _, e := range evs {
		if e.Reason == evBackOff && e.Type == v1.EventTypeWarning && e.Message == "Back-off restarting failed container c0 in pod crash_default("+string(got.UID)+")" {
			found = e.Count >= 2
		}
	}
	if !found {
		t.Errorf("no aggregated BackOff event: %+v", evs)
	}
}

func TestInitFailureNeverFailsPod(t *testing.T) {
	env := newTestEnv(t)
	p := testPod("initfail", v1.RestartPolicyNever, []string{"serve"})
	p.Spec.InitContainers = []v1.Container{{Name: "setup", Image: "busybox:1.36", Command: []string{"exit", "1"}}}
	if _, err := env.m.Create(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	got := waitFor(t, env.m, "initfail", "Failed", phaseIs(v1.PodFailed))
	for _, op := range env.rt.opsCopy() {
		if op == "create c0" {
			t.Fatal("app container created after a failed init container")
		}
	}
	if c := cond(got, v1.PodInitialized); c.Status != v1.ConditionFalse || c.Reason != reasonContainersNotInitialized ||
		c.Message != "containers with incomplete status: [setup]" {
		t.Errorf("Initialized = %+v", c)
	}
	if w := got.Status.ContainerStatuses[0].State.Waiting; w == nil || w.Reason != reasonPodInitializing {
		t.Errorf("app state = %+v", got.Status.ContainerStatuses[0].State)
	}
}

func TestInitFailureRetriedWithOnFailure(t *testing.T) {
	env := newTestEnv(t)
	p := testPod("initretry", v1.RestartPolicyOnFailure, []string{"serve"})
	p.Spec.InitContainers = []v1.Container{{Name: "setup", Image: "busybox:1.36", Command: []string{"exit", "1"}}}
	if _, err := env.m.Create(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	got := waitFor(t, env.m, "initretry", "init restarted twice", func(p *v1.Pod) bool {
		return len(p.Status.InitContainerStatuses) == 1 && p.Status.InitContainerStatuses[0].RestartCount >= 2
	})
	if got.Status.Phase != v1.PodPending {
		t.Errorf("phase = %s, want Pending", got.Status.Phase)
	}
}

func TestTerminationMessage(t *testing.T) {
	env := newTestEnv(t)
	if _, err := env.m.Create(context.Background(), testPod("msg", v1.RestartPolicyNever, []string{"exit", "1", "0s", "bye"})); err != nil {
		t.Fatal(err)
	}
	got := waitFor(t, env.m, "msg", "Failed", phaseIs(v1.PodFailed))
	if term := got.Status.ContainerStatuses[0].State.Terminated; term.Message != "bye" || term.Reason != "Error" || term.ExitCode != 1 {
		t.Errorf("terminated = %+v", term)
	}
}

func TestImagePullFailure(t *testing.T) {
	env := newTestEnv(t)
	p := testPod("pull", v1.RestartPolicyAlways, []string{"serve"})
	p.Spec.Containers[0].Image = "nothere:latest"
	if _, err := env.m.Create(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	got := waitFor(t, env.m, "pull", "ImagePullBackOff", func(p *v1.Pod) bool {
		w := p.Status.ContainerStatuses
		return len(w) == 1 && w[0].State.Waiting != nil && w[0].State.Waiting.Reason == reasonImagePullBackOff
	})
	if got.Status.Phase != v1.PodPending || got.Status.ContainerStatuses[0].State.Waiting.Message != `Back-off pulling image "nothere:latest"` {
		t.Errorf("status = %+v", got.Status)
	}
	// Once the image can be pulled, the pod runs.
	env.img.mu.Lock()
	env.img.pullable["nothere:latest"] = true
	env.img.mu.Unlock()
	waitFor(t, env.m, "pull", "Running", phaseIs(v1.PodRunning))
}

func TestCreateRejects(t *testing.T) {
	env := newTestEnv(t)
	p := testPod("never", v1.RestartPolicyAlways, []string{"serve"})
	p.Spec.Containers[0].Image = "absent:v1"
	p.Spec.Containers[0].ImagePullPolicy = v1.PullNever
	_, err := env.m.Create(context.Background(), p)
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), `spec.containers[0].image: Invalid value: "absent:v1": image "absent:v1" not present with pull policy of Never`) {
		t.Errorf("err = %v", err)
	}
	if _, err := env.m.Get("default", "never"); !apierrors.IsNotFound(err) {
		t.Errorf("rejected pod exists: %v", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(env.root, "pods")); len(ents) != 0 {
		t.Errorf("rejected pod left %d dirs", len(ents))
	}

	if _, err := env.m.Create(context.Background(), testPod("dup", v1.RestartPolicyAlways, []string{"serve"})); err != nil {
		t.Fatal(err)
	}
	_, err = env.m.Create(context.Background(), testPod("dup", v1.RestartPolicyAlways, []string{"serve"}))
	if !apierrors.IsAlreadyExists(err) || err.Error() != `pods "dup" already exists` {
		t.Errorf("err = %v", err)
	}
	bad := testPod("Bad_Name", v1.RestartPolicyAlways, []string{"serve"})
	if _, err := env.m.Create(context.Background(), bad); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "metadata.name") {
		t.Errorf("err = %v", err)
	}
}

func TestDeleteRemovesEverything(t *testing.T) {
	env := newTestEnv(t)
	p := testPod("del", v1.RestartPolicyAlways, []string{"serve"}, []string{"serve"})
	p.Spec.InitContainers = []v1.Container{{Name: "init", Image: "busybox:1.36", Command: []string{"exit", "0"}}}
	p.Spec.Volumes = []v1.Volume{{Name: "data"}}
	p.Spec.Containers[0].VolumeMounts = []v1.VolumeMount{{Name: "data", MountPath: "/data", SubPath: "sub"}}
	created, err := env.m.Create(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, env.m, "del", "Running", phaseIs(v1.PodRunning))
	if _, err := os.Stat(filepath.Join(env.root, "pods", string(created.UID), "volumes", "empty-dir", "data", "sub")); err != nil {
		t.Errorf("subPath dir: %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ch, _ := env.m.Watch(ctx, "default", labels.SelectorFromSet(labels.Set{"app": "del"}))
	out, err := env.m.Delete(ctx, "default", "del", DeleteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if out.DeletionTimestamp == nil || *out.DeletionGracePeriodSeconds != 30 {
		t.Errorf("deleted pod = %+v", out.ObjectMeta)
	}
	for deleted := false; !deleted; {
		select {
		case ev := <-ch:
			deleted = ev.Type == watch.Deleted
		case <-ctx.Done():
			t.Fatal("no DELETED event")
		}
	}
	if _, err := env.m.Get("default", "del"); !apierrors.IsNotFound(err) {
		t.Errorf("Get after delete: %v", err)
	}
	if sb, cs := env.rt.counts(); sb != 0 || cs != 0 {
		t.Errorf("left %d sandboxes, %d containers", sb, cs)
	}
	for _, dir := range []string{filepath.Join(env.root, "pods", string(created.UID)),
		filepath.Join(env.logDir, "default_del_"+string(created.UID))} {
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left behind (%v)", dir, err)
		}
	}
	if ops := strings.Join(env.rt.opsCopy(), ","); !strings.Contains(ops, "stop c0") || !strings.Contains(ops, "stop c1") {
		t.Errorf("app containers not stopped: %s", ops)
	}
}

func TestDeleteHalfCreated(t *testing.T) {
	env := newTestEnv(t)
	env.rt.sandboxFailures = 1000
	if _, err := env.m.Create(context.Background(), testPod("half", v1.RestartPolicyAlways, []string{"serve"})); err != nil {
		t.Fatal(err)
	}
	// Events do not change the pod: poll them.
	for seen := false; !seen; time.Sleep(5 * time.Millisecond) {
		evs, _ := env.m.Events("default", "half")
		for _, e := range evs {
			seen = seen || (e.Reason == evFailedCreateSandbox && e.Count >= 2)
		}
	}
	if _, err := env.m.Delete(context.Background(), "default", "half", DeleteOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, env.m, "half")
	if ents, _ := os.ReadDir(filepath.Join(env.root, "pods")); len(ents) != 0 {
		t.Errorf("left %d pod dirs", len(ents))
	}
}

func waitGone(t *testing.T, m *Manager, name string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := m.Get("default", name); apierrors.IsNotFound(err) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("pod %s still there", name)
}

func TestReadoptAfterDaemonRestart(t *testing.T) {
	env := newTestEnv(t)
	if _, err := env.m.Create(context.Background(), testPod("keep", v1.RestartPolicyAlways, []string{"serve"})); err != nil {
		t.Fatal(err)
	}
	before := waitFor(t, env.m, "keep", "Running", phaseIs(v1.PodRunning))
	env.m.Shutdown()

	// The container exits with 7 while no daemon runs.
	env.rt.exitWhileAway("c0", 7)
	m2 := env.start()
	got := waitFor(t, m2, "keep", "restarted", func(p *v1.Pod) bool {
		s := p.Status.ContainerStatuses[0]
		return s.RestartCount == 1 && s.State.Running != nil
	})
	s := got.Status.ContainerStatuses[0]
	if s.LastTerminationState.Terminated == nil || s.LastTerminationState.Terminated.ExitCode != 7 ||
		s.LastTerminationState.Terminated.ContainerID != before.Status.ContainerStatuses[0].ContainerID {
		t.Errorf("lastState = %+v", s.LastTerminationState)
	}
	if rv, prev := mustRV(got), mustRV(before); rv <= prev {
		t.Errorf("resourceVersion went from %d to %d", prev, rv)
	}

	// A running container is adopted, not restarted.
	m2.Shutdown()
	m3 := env.start()
	again := waitFor(t, m3, "keep", "Running", phaseIs(v1.PodRunning))
	if again.Status.ContainerStatuses[0].ContainerID != s.ContainerID {
		t.Errorf("container replaced: %s → %s", s.ContainerID, again.Status.ContainerStatuses[0].ContainerID)
	}
	if evs, _ := m3.Events("default", "keep"); len(evs) == 0 {
		t.Error("events not reloaded")
	}
}

func TestRecreateAfterSandboxLost(t *testing.T) {
	env := newTestEnv(t)
	p := testPod("reboot", v1.RestartPolicyAlways, []string{"serve"})
	p.Spec.InitContainers = []v1.Container{{Name: "init", Image: "busybox:1.36", Command: []string{"exit", "0"}}}
	if _, err := env.m.Create(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	waitFor(t, env.m, "reboot", "Running", phaseIs(v1.PodRunning))
	env.m.Shutdown()
	// Reboot: the runtime state is gone.
	env.rt.mu.Lock()
	env.rt.sandboxes = map[string]*cri.SandboxStatus{}
	env.rt.containers = map[string]*fakeContainer{}
	env.rt.mu.Unlock()

	m2 := env.start()
	got := waitFor(t, m2, "reboot", "recreated", func(p *v1.Pod) bool {
		return p.Status.Phase == v1.PodRunning && p.Status.ContainerStatuses[0].RestartCount == 1 &&
			p.Status.ContainerStatuses[0].State.Running != nil
	})
	if got.Status.InitContainerStatuses[0].RestartCount != 1 {
		t.Errorf("init restartCount = %d", got.Status.InitContainerStatuses[0].RestartCount)
	}
	if lt := got.Status.ContainerStatuses[0].LastTerminationState.Terminated; lt == nil || lt.Reason != "Unknown" || lt.ExitCode != 255 {
		t.Errorf("lastState = %+v", lt)
	}
	evs, _ := m2.Events("default", "reboot")
	found := false
	for _, e := range evs {
		found = found || e.Reason == evSandboxChanged
	}
	if !found {
		t.Error("no SandboxChanged event")
	}
}

func TestFinishedNeverPodKeepsStatusAfterReboot(t *testing.T) {
	env := newTestEnv(t)
	if _, err := env.m.Create(context.Background(), testPod("done", v1.RestartPolicyNever, []string{"exit", "0"})); err != nil {
		t.Fatal(err)
	}
	waitFor(t, env.m, "done", "Succeeded", phaseIs(v1.PodSucceeded))
	env.m.Shutdown()
	env.rt.mu.Lock()
	env.rt.sandboxes = map[string]*cri.SandboxStatus{}
	env.rt.containers = map[string]*fakeContainer{}
	env.rt.mu.Unlock()
	m2 := env.start()
	got, err := m2.Get("default", "done")
	if err != nil || got.Status.Phase != v1.PodSucceeded {
		t.Fatalf("got %v, %v", got, err)
	}
	if _, err := m2.Delete(context.Background(), "default", "done", DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, m2, "done")
}

func TestLogPathAndExec(t *testing.T) {
	env := newTestEnv(t)
	if _, err := env.m.Create(context.Background(), testPod("logs", v1.RestartPolicyAlways, []string{"exit", "1", "20ms"}, []string{"serve"})); err != nil {
		t.Fatal(err)
	}
	got := waitFor(t, env.m, "logs", "c0 restarted", func(p *v1.Pod) bool {
		return len(p.Status.ContainerStatuses) == 2 && p.Status.ContainerStatuses[0].RestartCount >= 1
	})
	uid := string(got.UID)
	if _, err := env.m.LogPath("default", "logs", LogOptions{}); err == nil || !strings.Contains(err.Error(), "a container name must be specified for pod logs, choose one of: [c0 c1]") {
		t.Errorf("err = %v", err)
	}
	if _, err := env.m.LogPath("default", "logs", LogOptions{Container: "c1", Previous: true}); err == nil ||
		err.Error() != `previous terminated container "c1" in pod "logs" not found` {
		t.Errorf("err = %v", err)
	}
	prev, err := env.m.LogPath("default", "logs", LogOptions{Container: "c0", Previous: true})
	if err != nil || prev != filepath.Join(env.logDir, "default_logs_"+uid, "c0", "0.log") {
		t.Errorf("previous = %q, %v", prev, err)
	}
	cur, err := env.m.LogPath("default", "logs", LogOptions{Container: "c1"})
	if err != nil || cur != filepath.Join(env.logDir, "default_logs_"+uid, "c1", "0.log") {
		t.Errorf("current = %q, %v", cur, err)
	}
	if code, err := env.m.Exec(context.Background(), "default", "logs", "c1", nil); err != nil || code != 7 {
		t.Errorf("exec = %d, %v", code, err)
	}
	if _, err := env.m.Exec(context.Background(), "default", "logs", "nope", nil); err == nil {
		t.Error("exec into unknown container succeeded")
	}
	ins, err := env.m.Inspect(context.Background(), "default", "logs")
	if err != nil || ins.Sandbox.Pid != 4242 || len(ins.Containers) != 2 {
		t.Errorf("inspect = %+v, %v", ins, err)
	}
}

func TestListSortedAndFiltered(t *testing.T) {
	env := newTestEnv(t)
	for _, n := range []string{"b", "a"} {
		if _, err := env.m.Create(context.Background(), testPod(n, v1.RestartPolicyAlways, []string{"serve"})); err != nil {
			t.Fatal(err)
		}
	}
	p := testPod("z", v1.RestartPolicyAlways, []string{"serve"})
	p.Namespace = "other"
	if _, err := env.m.Create(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range env.m.List("", nil) {
		names = append(names, p.Namespace+"/"+p.Name)
	}
	if strings.Join(names, ",") != "default/a,default/b,other/z" {
		t.Errorf("List = %v", names)
	}
	if l := env.m.List("default", labels.SelectorFromSet(labels.Set{"app": "b"})); len(l) != 1 || l[0].Name != "b" {
		t.Errorf("List selector = %v", l)
	}
	// Copies: changing one does not change the manager's pod.
	l := env.m.List("default", nil)
	l[0].Labels["app"] = "changed"
	if p, _ := env.m.Get("default", l[0].Name); p.Labels["app"] == "changed" {
		t.Error("List returned the manager's own object")
	}
}
