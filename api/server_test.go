package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/api/apitest"
	"github.com/podrun/podrun/cri"
)

func TestRawRoutes(t *testing.T) {
	fp := apitest.NewFakePods(t)
	h := api.NewHandler(fp, &apitest.FakeImages{}, nil)
	if _, err := fp.Create(t.Context(), &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: "default", Labels: map[string]string{"app": "a"}}, Spec: v1.PodSpec{Containers: []v1.Container{{Name: "c", Image: "busybox"}}}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		wantCode   int
		wantInBody string
	}{
		{"create", "POST", "/api/v1/namespaces/default/pods", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"b"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}`, 201, `"kind":"Pod"`},
		{"create exists passes StatusError through", "POST", "/api/v1/namespaces/default/pods", `{"metadata":{"name":"a"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}`, 409, `"reason":"AlreadyExists"`},
		{"create unknown field", "POST", "/api/v1/namespaces/default/pods", `{"metadata":{"name":"x"},"spec":{"containerz":[]}}`, 400, `unknown field \"spec.containerz\"`},
		{"create bad json", "POST", "/api/v1/namespaces/default/pods", `{"metadata":`, 400, `cannot be handled as a Pod`},
		{"create wrong kind", "POST", "/api/v1/namespaces/default/pods", `{"apiVersion":"apps/v1","kind":"Deployment"}`, 400, `do not match`},
		{"create namespace mismatch", "POST", "/api/v1/namespaces/default/pods", `{"metadata":{"name":"x","namespace":"other"}}`, 400, `does not match the namespace`},
		{"get", "GET", "/api/v1/namespaces/default/pods/a", "", 200, `"name":"a"`},
		{"get not found", "GET", "/api/v1/namespaces/default/pods/zz", "", 404, `pods \"zz\" not found`},
		{"list", "GET", "/api/v1/namespaces/default/pods", "", 200, `"kind":"PodList"`},
		{"list all namespaces", "GET", "/api/v1/pods", "", 200, `"name":"a"`},
		{"list label selector", "GET", "/api/v1/namespaces/default/pods?labelSelector=app%3Dnope", "", 200, `"items":[]`},
		{"list bad label selector", "GET", "/api/v1/namespaces/default/pods?labelSelector=a%3D%3D%3Db", "", 400, `invalid labelSelector`},
		{"list field selector", "GET", "/api/v1/namespaces/default/pods?fieldSelector=metadata.name%3Da", "", 200, `"name":"a"`},
		{"list bad field", "GET", "/api/v1/namespaces/default/pods?fieldSelector=spec.foo%3Da", "", 400, `field label not supported: spec.foo`},
		{"bad watch value", "GET", "/api/v1/namespaces/default/pods?watch=maybe", "", 400, `query parameter watch`},
		{"events", "GET", "/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Da", "", 200, `"kind":"EventList"`},
		{"events unknown pod", "GET", "/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dzz", "", 200, `"items":[]`},
		{"inspect", "GET", "/apis/podrun.io/v1/namespaces/default/pods/a/inspect", "", 200, `"pid":42`},
		{"inspect not found", "GET", "/apis/podrun.io/v1/namespaces/default/pods/zz/inspect", "", 404, `NotFound`},
		{"images", "GET", "/apis/podrun.io/v1/images", "", 200, `busybox:latest`},
		{"load bad tar", "POST", "/apis/podrun.io/v1/images/load", "nope", 400, `not a tar archive`},
		{"load", "POST", "/apis/podrun.io/v1/images/load", "TAR", 200, `"kind":"ImageList"`},
		{"version", "GET", "/version", "", 200, `"gitVersion"`},
		{"healthz", "GET", "/healthz", "", 200, `ok`},
		{"unknown path", "GET", "/api/v1/nodes", "", 404, `"kind":"Status"`},
		{"wrong method", "PUT", "/api/v1/namespaces/default/pods/a", "", 405, `"reason":"MethodNotAllowed"`},
		{"wrong method on collection", "DELETE", "/api/v1/namespaces/default/pods", "", 405, `does not allow this method`},
		{"log bad tail", "GET", "/api/v1/namespaces/default/pods/a/log?tailLines=x", "", 400, `tailLines`},
		{"log negative tail", "GET", "/api/v1/namespaces/default/pods/a/log?tailLines=-2", "", 400, `tailLines`},
		{"log bad container", "GET", "/api/v1/namespaces/default/pods/a/log?container=zz", "", 400, `container zz is not valid for pod a`},
		{"log waiting", "GET", "/api/v1/namespaces/default/pods/a/log", "", 400, `waiting to start`},
		{"exec no command", "POST", "/api/v1/namespaces/default/pods/a/exec", "", 400, `at least one command`},
		{"exec no upgrade", "POST", "/api/v1/namespaces/default/pods/a/exec?command=ls", "", 400, `podrun.exec.v1`},
		{"delete bad grace", "DELETE", "/api/v1/namespaces/default/pods/a?gracePeriodSeconds=soon", "", 400, `gracePeriodSeconds`},
		{"delete bad body", "DELETE", "/api/v1/namespaces/default/pods/a", `{"gracePeriodSecondz":1}`, 400, `unknown field`},
		{"delete", "DELETE", "/api/v1/namespaces/default/pods/a", `{"gracePeriodSeconds":5}`, 200, `"deletionTimestamp"`},
		{"delete gone", "DELETE", "/api/v1/namespaces/default/pods/a", "", 404, `NotFound`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			body := rec.Body.String()
			if rec.Code != tt.wantCode || !strings.Contains(body, tt.wantInBody) {
				t.Errorf("%s %s = %d %s; want %d containing %s", tt.method, tt.path, rec.Code, body, tt.wantCode, tt.wantInBody)
			}
		})
	}
	if g := fp.LastDelete.GracePeriodSeconds; g == nil || *g != 5 {
		t.Errorf("delete body grace period not passed: %v", g)
	}
}

func TestClientPods(t *testing.T) {
	c, fp, _, _ := apitest.StartServer(t)
	ctx := apitest.Ctx(t)
	p, err := c.CreatePod(ctx, "default", apitest.TestPod("web", "c"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Namespace != "default" || p.Kind != "Pod" || p.APIVersion != "v1" {
		t.Errorf("created pod = %s/%s %s %s", p.Namespace, p.Name, p.APIVersion, p.Kind)
	}
	_, err = c.CreatePod(ctx, "default", apitest.TestPod("web", "c"))
	if !apierrors.IsAlreadyExists(err) {
		t.Errorf("second create err = %v, want AlreadyExists StatusError", err)
	}
	_, err = c.GetPod(ctx, "default", "nope")
	if !apierrors.IsNotFound(err) || err.Error() != `pods "nope" not found` {
		t.Errorf("get err = %v", err)
	}
	l, err := c.ListPods(ctx, "", api.ListOptions{LabelSelector: "app=web"})
	if err != nil || len(l.Items) != 1 {
		t.Fatalf("list = %v, %v", l, err)
	}
	grace := int64(0)
	d, err := c.DeletePod(ctx, "default", "web", api.DeleteOptions{GracePeriodSeconds: &grace, Force: true})
	if err != nil || d.DeletionTimestamp == nil {
		t.Fatalf("delete = %v, %v", d, err)
	}
	if !fp.LastDelete.Force || fp.LastDelete.GracePeriodSeconds == nil || *fp.LastDelete.GracePeriodSeconds != 0 {
		t.Errorf("delete options = %+v", fp.LastDelete)
	}
}

func TestClientUnreachable(t *testing.T) {
	c := api.NewClient(t.TempDir() + "/none.sock")
	_, err := c.GetPod(apitest.Ctx(t), "default", "x")
	var ue *api.UnreachableError
	if !asUnreachable(err, &ue) {
		t.Fatalf("err = %T %v, want *api.UnreachableError", err, err)
	}
	if _, err := c.Exec(apitest.Ctx(t), "default", "x", api.ExecOptions{Command: []string{"ls"}}); !asUnreachable(err, &ue) {
		t.Fatalf("exec err = %T %v, want *api.UnreachableError", err, err)
	}
}

func asUnreachable(err error, target **api.UnreachableError) bool {
	ue, ok := err.(*api.UnreachableError)
	if ok {
		*target = ue
	}
	return ok
}

func TestClientExec(t *testing.T) {
	c, fp, _, _ := apitest.StartServer(t)
	ctx := apitest.Ctx(t)
	if _, err := fp.Create(ctx, &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default"}, Spec: v1.PodSpec{Containers: []v1.Container{{Name: "c"}}}}); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code, err := c.Exec(ctx, "default", "p", api.ExecOptions{Command: []string{"echo", "hello", "world"}, Stdout: &out, Stderr: &errb})
	if err != nil || code != 0 || out.String() != "hello world\n" || errb.String() != "to stderr\n" {
		t.Errorf("echo: code %d err %v out %q stderr %q", code, err, out.String(), errb.String())
	}
	out.Reset()
	big := strings.Repeat("x", 3<<20)
	code, err = c.Exec(ctx, "default", "p", api.ExecOptions{Command: []string{"cat"}, Stdin: strings.NewReader(big), Stdout: &out})
	if err != nil || code != 0 || out.String() != big {
		t.Errorf("cat: code %d err %v, %d bytes back of %d", code, err, out.Len(), len(big))
	}
	code, err = c.Exec(ctx, "default", "p", api.ExecOptions{Command: []string{"fail", "7"}})
	if err != nil || code != 7 {
		t.Errorf("fail 7: code %d err %v", code, err)
	}
	out.Reset()
	rs := make(chan cri.TerminalSize, 1)
	rs <- cri.TerminalSize{Width: 120, Height: 40}
	code, err = c.Exec(ctx, "default", "p", api.ExecOptions{Command: []string{"resize"}, TTY: true, Stdout: &out, Resize: rs})
	if err != nil || code != 0 || out.String() != "120x40\n" {
		t.Errorf("resize: code %d err %v out %q", code, err, out.String())
	}
	_, err = c.Exec(ctx, "default", "p", api.ExecOptions{Command: []string{"boom"}})
	if err == nil || !strings.Contains(err.Error(), "container is not running") {
		t.Errorf("failing exec err = %v", err)
	}
	_, err = c.Exec(ctx, "default", "zz", api.ExecOptions{Command: []string{"ls"}})
	if !apierrors.IsNotFound(err) {
		t.Errorf("exec unknown pod err = %v", err)
	}
}

func TestClientLogs(t *testing.T) {
	c, fp, _, _ := apitest.StartServer(t)
	ctx := apitest.Ctx(t)
	if _, err := fp.Create(ctx, &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default"}, Spec: v1.PodSpec{Containers: []v1.Container{{Name: "a"}, {Name: "b"}}, InitContainers: []v1.Container{{Name: "i"}}}}); err != nil {
		t.Fatal(err)
	}
	path, _ := fp.LogPath("default", "p", apitest.PodLogOpts("a"))
	lines := "2026-11-28T14:00:00.000000001Z stdout F one\n2026-11-28T14:00:01.000000001Z stderr F two\n"
	if err := os.WriteFile(path, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := c.Logs(ctx, "default", "p", api.LogOptions{Container: "a"}, &out); err != nil || out.String() != "one\ntwo\n" {
		t.Errorf("logs = %q, %v", out.String(), err)
	}
	out.Reset()
	tail := int64(1)
	if err := c.Logs(ctx, "default", "p", api.LogOptions{Container: "a", TailLines: &tail, Timestamps: true}, &out); err != nil || out.String() != "2026-11-28T14:00:01.000000001Z two\n" {
		t.Errorf("logs tail = %q, %v", out.String(), err)
	}
	err := c.Logs(ctx, "default", "p", api.LogOptions{}, io.Discard)
	want := "a container name must be specified for pod p, choose one of: [a b] or one of the init containers: [i]"
	if !apierrors.IsBadRequest(err) || err.Error() != want {
		t.Errorf("logs without -c: %v", err)
	}
	// Follow of a running container ends when it stops running.
	done := make(chan error, 1)
	out.Reset()
	go func() { done <- c.Logs(ctx, "default", "p", api.LogOptions{Container: "a", Follow: true}, &out) }()
	time.Sleep(300 * time.Millisecond)
	fp.Mu.Lock()
	fp.Pods["default/p"].Status.ContainerStatuses[0].State = v1.ContainerState{Terminated: &v1.ContainerStateTerminated{}}
	fp.Mu.Unlock()
	select {
	case err := <-done:
		if err != nil || out.String() != "one\ntwo\n" {
			t.Errorf("follow = %q, %v", out.String(), err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("follow did not stop when the container stopped")
	}
}

func TestClientWatch(t *testing.T) {
	c, _, _, _ := apitest.StartServer(t)
	ctx := apitest.Ctx(t)
	ch, err := c.WatchPods(ctx, "default", api.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the watcher registers on the server
	if _, err := c.CreatePod(ctx, "default", apitest.TestPod("w", "c")); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-ch:
		if ev.Type != "ADDED" || ev.Pod.Name != "w" || ev.Pod.Kind != "Pod" {
			t.Errorf("event = %s %s %s", ev.Type, ev.Pod.Name, ev.Pod.Kind)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no watch event")
	}
}

func TestClientImagesAndMisc(t *testing.T) {
	c, fp, fi, _ := apitest.StartServer(t)
	ctx := apitest.Ctx(t)
	imgs, err := c.LoadImages(ctx, strings.NewReader("TAR"))
	if err != nil || len(imgs) != 1 || string(fi.Loaded) != "TAR" {
		t.Fatalf("load = %v, %v", imgs, err)
	}
	if _, err := c.LoadImages(ctx, strings.NewReader("junk")); !apierrors.IsBadRequest(err) {
		t.Errorf("bad load err = %v", err)
	}
	if l, err := c.ListImages(ctx); err != nil || len(l) != 1 {
		t.Errorf("images = %v, %v", l, err)
	}
	if v, err := c.Version(ctx); err != nil || v.GitVersion != api.Version {
		t.Errorf("version = %v, %v", v, err)
	}
	fp.Create(ctx, &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default"}, Spec: v1.PodSpec{Containers: []v1.Container{{Name: "c"}}}})
	ev, err := c.PodEvents(ctx, "default", "p")
	if err != nil || len(ev.Items) != 1 || ev.Items[0].Reason != "Started" {
		t.Errorf("events = %v, %v", ev, err)
	}
	in, err := c.Inspect(ctx, "default", "p")
	if err != nil || in.Sandbox.Pid != 42 {
		t.Errorf("inspect = %v, %v", in, err)
	}
	b, _ := json.Marshal(in)
	if !strings.Contains(string(b), `"namespaces":{"net":"/run/podrun/netns/abc"}`) {
		t.Errorf("inspect JSON = %s", b)
	}
	if err := c.Ping(ctx); err != nil {
		t.Errorf("ping: %v", err)
	}
	_ = http.StatusOK
}
