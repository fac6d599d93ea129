package pod

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/cri"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/watch"
)

func TestCreateContainerConfigError(t *testing.T) {
	env := newTestEnv(t)
	env.rt.createErr = func(cfg *cri.ContainerConfig) error { return fakeConfigErr{} }
	if _, err := env.m.Create(context.Background(), testPod("cfg", v1.RestartPolicyAlways, []string{"serve"})); err != nil {
		t.Fatal(err)
	}
	got := waitFor(t, env.m, "cfg", "CreateContainerConfigError", func(p *v1.Pod) bool {
		s := p.Status.ContainerStatuses
		return len(s) == 1 && s[0].State.Waiting != nil && s[0].State.Waiting.Reason == reasonCreateConfigError
	})
	if got.Status.Phase != v1.PodPending || got.Status.ContainerStatuses[0].State.Waiting.Message != (fakeConfigErr{}).Error() {
		t.Errorf("status = %+v", got.Status)
	}
	evs, _ := env.m.Events("default", "cfg")
	found := false
	for _, e := range evs {
		found = found || (e.Reason == evFailed && e.Type == v1.EventTypeWarning && e.Message == "Error: "+(fakeConfigErr{}).Error())
	}
	if !found {
		t.Errorf("no Failed event: %+v", evs)
	}
	// Fixed: the container starts on a later retry.
	env.rt.mu.Lock()
	env.rt.createErr = nil
	env.rt.mu.Unlock()
	waitFor(t, env.m, "cfg", "Running", phaseIs(v1.PodRunning))
}

func TestEnvConfigErrorFromSpec(t *testing.T) {
	env := newTestEnv(t)
	p := testPod("envcm", v1.RestartPolicyAlways, []string{"serve"})
	p.Spec.Containers[0].Env = []v1.EnvVar{{Name: "X", ValueFrom: &v1.EnvVarSource{
		ConfigMapKeyRef: &v1.ConfigMapKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "cm"}, Key: "k"}}}}
	if _, err := env.m.Create(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	waitFor(t, env.m, "envcm", "CreateContainerConfigError", func(p *v1.Pod) bool {
		s := p.Status.ContainerStatuses
		return len(s) == 1 && s[0].State.Waiting != nil && s[0].State.Waiting.Reason == reasonCreateConfigError &&
			strings.Contains(s[0].State.Waiting.Message, "not supported yet")
	})
}

func TestSandboxDiesWhileRunning(t *testing.T) {
	env := newTestEnv(t)
	if _, err := env.m.Create(context.Background(), testPod("pause", v1.RestartPolicyAlways, []string{"serve"})); err != nil {
		t.Fatal(err)
	}
	waitFor(t, env.m, "pause", "Running", phaseIs(v1.PodRunning))
	env.rt.killSandbox()
	got := waitFor(t, env.m, "pause", "running in a new sandbox", func(p *v1.Pod) bool {
		s := p.Status.ContainerStatuses[0]
		return p.Status.Phase == v1.PodRunning && s.State.Running != nil && s.RestartCount >= 1
	})
	sb, _ := env.rt.counts()
	if sb != 1 {
		t.Errorf("%d sandboxes, want the new one only", sb)
	}
	_ = got
}

func TestPullFailureWithLocalImage(t *testing.T) {
	for _, strict := range []bool{false, true} {
		t.Run(fmt.Sprint("strict=", strict), func(t *testing.T) {
			env := newTestEnv(t)
			env.m.Shutdown()
			m, err := NewManager(Config{Root: env.root, LogDir: env.logDir, Runtime: env.rt, Images: env.img,
				BackoffBase: 30 * time.Millisecond, StrictImagePull: strict})
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(m.Shutdown)
			p := testPod("latest", v1.RestartPolicyAlways, []string{"serve"})
			p.Spec.Containers[0].ImagePullPolicy = v1.PullAlways
			if _, err := m.Create(context.Background(), p); err != nil {
				t.Fatal(err)
			}
			if !strict {
				waitFor(t, m, "latest", "Running", phaseIs(v1.PodRunning))
				return
			}
			waitFor(t, m, "latest", "ErrImagePull", func(p *v1.Pod) bool {
				w := p.Status.ContainerStatuses
				return len(w) == 1 && w[0].State.Waiting != nil && strings.HasPrefix(w[0].State.Waiting.Message, `Failed to pull image "busybox:1.36": `)
			})
		})
	}
}

func TestForceDeleteShortensGrace(t *testing.T) {
	env := newTestEnv(t)
	if _, err := env.m.Create(context.Background(), testPod("slow", v1.RestartPolicyAlways, []string{"serve"})); err != nil {
		t.Fatal(err)
	}
	waitFor(t, env.m, "slow", "Running", phaseIs(v1.PodRunning))
	zero := int64(0)
	out, err := env.m.Delete(context.Background(), "default", "slow", DeleteOptions{GracePeriodSeconds: &zero})
	if err != nil || *out.DeletionGracePeriodSeconds != 0 {
		t.Fatalf("%v %v", out, err)
	}
	// A second delete with a longer grace period does not lengthen it.
	if out, err := env.m.Delete(context.Background(), "default", "slow", DeleteOptions{}); err == nil && *out.DeletionGracePeriodSeconds != 0 {
		t.Errorf("grace lengthened to %d", *out.DeletionGracePeriodSeconds)
	}
	waitGone(t, env.m, "slow")
}

func TestTailCRILogAndFallback(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "0.log")
	var b strings.Builder
	for i := 0; i < 100; i++ {
		b.WriteString("2026-01-01T00:00:00.000000000Z stdout F line " + string(rune('a'+i%26)) + "\n")
	}
	b.WriteString("2026-01-01T00:00:00.000000000Z stderr P part-\n")
	b.WriteString("2026-01-01T00:00:00.000000000Z stderr F one\n")
	if err := os.WriteFile(log, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	got := tailCRILog(log, 80, 2048)
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if len(lines) != 80 || lines[79] != "part-one" || lines[78] != "line v" {
		t.Errorf("tail: %d lines, last %q %q", len(lines), lines[len(lines)-2], lines[len(lines)-1])
	}
	if short := tailCRILog(log, 80, 20); len(short) != 20 || !strings.HasSuffix(short, "part-one\n") {
		t.Errorf("byte cap: %q", short)
	}

	term := filepath.Join(dir, "term")
	_ = os.WriteFile(term, nil, 0o644)
	tests := []struct {
		policy v1.TerminationMessagePolicy
		code   int
		file   string
		want   string
	}{
		{v1.TerminationMessageReadFile, 1, "", ""},
		{v1.TerminationMessageReadFile, 1, "written", "written"},
		{v1.TerminationMessageFallbackToLogsOnError, 0, "", ""},
		{v1.TerminationMessageFallbackToLogsOnError, 1, "written", "written"},
		{v1.TerminationMessageFallbackToLogsOnError, 2, "", tailCRILog(log, 80, 2048)},
	}
	for i, tc := range tests {
		_ = os.WriteFile(term, []byte(tc.file), 0o644)
		if got := terminationMessage(term, log, tc.policy, tc.code); got != tc.want {
			t.Errorf("case %d: %q, want %q", i, got, tc.want)
		}
	}
}

func TestCheckHostPath(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	_ = os.WriteFile(file, nil, 0o644)
	ty := func(t v1.HostPathType) *v1.HostPathType { return &t }
	tests := []struct {
		path    string
		typ     v1.HostPathType
		wantErr string
		created bool
	}{
		{filepath.Join(dir, "nothing"), v1.HostPathUnset, "", false},
		{dir, v1.HostPathDirectory, "", false},
		{file, v1.HostPathDirectory, "is not a directory", false},
		{filepath.Join(dir, "new/sub"), v1.HostPathDirectoryOrCreate, "", true},
		{file, v1.HostPathDirectoryOrCreate, "is not a directory", false},
		{filepath.Join(dir, "newfile"), v1.HostPathFileOrCreate, "", true},
		{dir, v1.HostPathFileOrCreate, "is not a file", false},
		{file, v1.HostPathFile, "", false},
		{filepath.Join(dir, "missing"), v1.HostPathFile, "is not a file", false},
		{file, v1.HostPathSocket, "is not a socket file", false},
		{"/dev/null", v1.HostPathCharDev, "", false},
		{"/dev/null", v1.HostPathBlockDev, "is not a block device", false},
	}
	for _, tc := range tests {
		err := checkHostPath(&v1.HostPathVolumeSource{Path: tc.path, Type: ty(tc.typ)})
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s %s: %v", tc.path, tc.typ, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s %s: err %v, want %q", tc.path, tc.typ, err, tc.wantErr)
		}
		if tc.created {
			if _, err := os.Stat(tc.path); err != nil {
				t.Errorf("%s not created", tc.path)
			}
		}
	}
}

func TestMemoryEmptyDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	env := newTestEnv(t)
	size := resource.MustParse("1Mi")
	p := testPod("mem", v1.RestartPolicyAlways, []string{"serve"})
	p.Spec.Volumes = []v1.Volume{{Name: "shm", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{Medium: v1.StorageMediumMemory, SizeLimit: &size}}}}
	p.Spec.Containers[0].VolumeMounts = []v1.VolumeMount{{Name: "shm", MountPath: "/shm"}}
	created, err := env.m.Create(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(env.root, "pods", string(created.UID), "volumes", "empty-dir", "shm")
	t.Cleanup(func() { unmountUnder(filepath.Join(env.root, "pods")) })
	waitFor(t, env.m, "mem", "Running", phaseIs(v1.PodRunning))
	if mps := mountsUnder(dir); len(mps) != 1 {
		t.Fatalf("mounts under %s: %v", dir, mps)
	}
	if _, err := env.m.Delete(context.Background(), "default", "mem", DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, env.m, "mem")
	if mps := mountsUnder(dir); len(mps) != 0 {
		t.Errorf("still mounted: %v", mps)
	}
}

func TestActiveDeadlineSeconds(t *testing.T) {
	env := newTestEnv(t)
	p := testPod("deadline", v1.RestartPolicyAlways, []string{"serve"})
	one := int64(1)
	p.Spec.ActiveDeadlineSeconds = &one
	if _, err := env.m.Create(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	got := waitFor(t, env.m, "deadline", "DeadlineExceeded", func(p *v1.Pod) bool {
		return p.Status.Phase == v1.PodFailed && p.Status.ContainerStatuses[0].State.Terminated != nil
	})
	if got.Status.Reason != reasonDeadlineExceeded || got.Status.Message != messageDeadlineExceeded {
		t.Errorf("status = %s/%s", got.Status.Reason, got.Status.Message)
	}
	// It stays failed: nothing restarts.
	time.Sleep(3 * env.base)
	if p, _ := env.m.Get("default", "deadline"); p.Status.ContainerStatuses[0].RestartCount != 0 || p.Status.Phase != v1.PodFailed {
		t.Errorf("after deadline: %+v", p.Status)
	}
}

func TestReadoptReconcilesUnrecordedContainer(t *testing.T) {
	env := newTestEnv(t)
	if _, err := env.m.Create(context.Background(), testPod("late", v1.RestartPolicyAlways, []string{"serve"})); err != nil {
		t.Fatal(err)
	}
	waitFor(t, env.m, "late", "Running", phaseIs(v1.PodRunning))
	env.m.Shutdown()
	newID := env.rt.restartBehindOurBack("c0")

	m2 := env.start()
	got := waitFor(t, m2, "late", "the unrecorded container adopted", func(p *v1.Pod) bool {
		s := p.Status.ContainerStatuses[0]
		return s.ContainerID == containerIDPrefix+newID && s.State.Running != nil
	})
	if s := got.Status.ContainerStatuses[0]; s.RestartCount != 1 {
		t.Errorf("restartCount = %d", s.RestartCount)
	}
	env.rt.mu.Lock()
	running := 0
	for _, c := range env.rt.containers {
		if c.status.State == cri.ContainerRunning {
			running++
		}
	}
	env.rt.mu.Unlock()
	if running != 1 {
		t.Errorf("%d containers running, want 1", running)
	}
}

func TestDownwardAPIVolume(t *testing.T) {
	env := newTestEnv(t)
	p := testPod("dapi", v1.RestartPolicyAlways, []string{"serve"})
	p.Spec.Containers[0].Resources.Limits = v1.ResourceList{v1.ResourceMemory: resource.MustParse("64Mi")}
	p.Spec.Volumes = []v1.Volume{{Name: "info", VolumeSource: v1.VolumeSource{DownwardAPI: &v1.DownwardAPIVolumeSource{Items: []v1.DownwardAPIVolumeFile{
		{Path: "labels", FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.labels"}},
		{Path: "sub/name", FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.name"}},
		{Path: "mem", ResourceFieldRef: &v1.ResourceFieldSelector{ContainerName: "c0", Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}},
	}}}}}
	p.Spec.Containers[0].VolumeMounts = []v1.VolumeMount{{Name: "info", MountPath: "/etc/podinfo"}}
	created, err := env.m.Create(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, env.m, "dapi", "Running", phaseIs(v1.PodRunning))
	dir := filepath.Join(env.root, "pods", string(created.UID), "volumes", "downward-api", "info")
	for file, want := range map[string]string{"labels": `app="dapi"`, "sub/name": "dapi", "mem": "64"} {
		got, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", file, got, err, want)
		}
	}
	env.rt.mu.Lock()
	defer env.rt.mu.Unlock()
	for _, c := range env.rt.containers {
		if m := c.cfg.Mounts; len(m) != 1 || m[0].HostPath != dir || m[0].ContainerPath != "/etc/podinfo" {
			t.Errorf("mounts = %+v", m)
		}
	}
}

func TestUnsupportedVolumeIsFailedMount(t *testing.T) {
	env := newTestEnv(t)
	p := testPod("cm", v1.RestartPolicyAlways, []string{"serve"})
	p.Spec.Volumes = []v1.Volume{{Name: "cfg", VolumeSource: v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{
		LocalObjectReference: v1.LocalObjectReference{Name: "app-config"}}}}}
	if _, err := env.m.Create(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	for seen := false; !seen; time.Sleep(5 * time.Millisecond) {
		evs, _ := env.m.Events("default", "cm")
		for _, e := range evs {
			seen = seen || (e.Reason == evFailedMount && e.Message == `MountVolume.SetUp failed for volume "cfg" : volume type configMap is not supported yet`)
		}
	}
	got, _ := env.m.Get("default", "cm")
	if got.Status.Phase != v1.PodPending || got.Status.ContainerStatuses[0].State.Waiting.Reason != reasonContainerCreating {
		t.Errorf("status = %+v", got.Status)
	}
}

func TestWatchEvents(t *testing.T) {
	env := newTestEnv(t)
	if _, err := env.m.Create(context.Background(), testPod("before", v1.RestartPolicyAlways, []string{"serve"})); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ch, err := env.m.Watch(ctx, "default", labels.SelectorFromSet(labels.Set{"app": "w"}))
	if err != nil {
		t.Fatal(err)
	}
	p := testPod("w", v1.RestartPolicyNever, []string{"exit", "0"})
	if _, err := env.m.Create(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	var types []watch.EventType
	lastRV := uint64(0)
	for done := false; !done; {
		select {
		case ev := <-ch:
			pod := ev.Object.(*v1.Pod)
			if pod.Name != "w" {
				t.Fatalf("event for %s leaked through the selector", pod.Name)
			}
			if rv := mustRV(pod); rv <= lastRV {
				t.Errorf("resourceVersion %d after %d", rv, lastRV)
			} else {
				lastRV = rv
			}
			if len(types) == 0 || types[len(types)-1] != ev.Type {
				types = append(types, ev.Type)
			}
			if ev.Type == watch.Modified && pod.Status.Phase == v1.PodSucceeded && cond(pod, v1.PodReadyToStartContainers).Status == v1.ConditionFalse {
				if _, err := env.m.Delete(ctx, "default", "w", DeleteOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			done = ev.Type == watch.Deleted
		case <-ctx.Done():
			t.Fatalf("events so far: %v", types)
		}
	}
	if fmt.Sprint(types) != "[ADDED MODIFIED DELETED]" {
		t.Errorf("event types %v", types)
	}
	cancel()
	if _, open := <-ch; open {
		// Drain whatever was buffered; the channel must close.
		for range ch {
		}
	}
}

func TestStartCleansAndResumes(t *testing.T) {
	env := newTestEnv(t)
	if _, err := env.m.Create(context.Background(), testPod("dying", v1.RestartPolicyAlways, []string{"serve"})); err != nil {
		t.Fatal(err)
	}
	waitFor(t, env.m, "dying", "Running", phaseIs(v1.PodRunning))
	env.m.Shutdown()

	// A Create that died before pod.json existed, and a delete the daemon did not finish.
	broken := filepath.Join(env.root, "pods", "0000-broken")
	if err := os.MkdirAll(filepath.Join(broken, "volumes"), 0o755); err != nil {
		t.Fatal(err)
	}
	var p v1.Pod
	dir, _ := os.ReadDir(filepath.Join(env.root, "pods"))
	for _, d := range dir {
		if d.Name() != "0000-broken" {
			path := filepath.Join(env.root, "pods", d.Name(), podFile)
			if err := readJSON(path, &p); err != nil {
				t.Fatal(err)
			}
			now := metav1.Now()
			zero := int64(0)
			p.DeletionTimestamp, p.DeletionGracePeriodSeconds = &now, &zero
			if err := writeJSON(path, &p); err != nil {
				t.Fatal(err)
			}
		}
	}
	m2 := env.start()
	waitGone(t, m2, "dying")
	if _, err := os.Stat(broken); !os.IsNotExist(err) {
		t.Errorf("broken pod dir left: %v", err)
	}
	if sb, cs := env.rt.counts(); sb != 0 || cs != 0 {
		t.Errorf("left %d sandboxes, %d containers", sb, cs)
	}
}

func TestLogPathWaiting(t *testing.T) {
	env := newTestEnv(t)
	env.rt.sandboxFailures = 1000
	p := testPod("wait", v1.RestartPolicyAlways, []string{"serve"})
	if _, err := env.m.Create(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	waitFor(t, env.m, "wait", "statuses", func(p *v1.Pod) bool { return len(p.Status.ContainerStatuses) == 1 })
	_, err := env.m.LogPath("default", "wait", LogOptions{})
	if err == nil || err.Error() != `container "c0" in pod "wait" is waiting to start: ContainerCreating` {
		t.Errorf("err = %v", err)
	}
	if _, err := env.m.LogPath("default", "wait", LogOptions{Container: "zz"}); err == nil || err.Error() != "container zz is not valid for pod wait" {
		t.Errorf("err = %v", err)
	}
	if _, err := env.m.Exec(context.Background(), "default", "wait", "", nil); err == nil ||
		err.Error() != `unable to upgrade connection: container not found ("c0")` {
		t.Errorf("exec err = %v", err)
	}
}
