// Package apitest holds fakes of the daemon's backends and a test server on a unix socket, for
// the tests of package api and of the CLI.
package apitest

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/cri"
	"github.com/podrun/podrun/pod"
)

var podsGR = schema.GroupResource{Resource: "pods"}

// FakePods is an in-memory podBackend: pods are Running at once, exec echoes.
type FakePods struct {
	Mu         sync.Mutex
	Pods       map[string]*v1.Pod
	logDir     string
	LastDelete pod.DeleteOptions
	// NotReady makes created pods Pending with containers not ready.
	NotReady bool
	watchers []chan watch.Event
}

func NewFakePods(t testing.TB) *FakePods {
	return &FakePods{Pods: map[string]*v1.Pod{}, logDir: t.TempDir()}
}

func key(ns, name string) string { return ns + "/" + name }

func (f *FakePods) Create(ctx context.Context, p *v1.Pod) (*v1.Pod, error) {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	if p.Name == "" {
		return nil, apierrors.NewInvalid(schema.GroupKind{Kind: "Pod"}, "", nil)
	}
	if _, ok := f.Pods[key(p.Namespace, p.Name)]; ok {
		return nil, apierrors.NewAlreadyExists(podsGR, p.Name)
	}
	p = p.DeepCopy()
	p.UID = "uid-" + "1"
	p.CreationTimestamp = metav1.Now()
	p.Status.Phase = v1.PodRunning
	if f.NotReady {
		p.Status.Phase = v1.PodPending
	}
	for _, c := range p.Spec.Containers {
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, v1.ContainerStatus{
			Name: c.Name, Ready: !f.NotReady, State: v1.ContainerState{Running: &v1.ContainerStateRunning{}},
		})
	}
	f.Pods[key(p.Namespace, p.Name)] = p
	for _, w := range f.watchers {
		select {
		case w <- watch.Event{Type: watch.Added, Object: p.DeepCopy()}:
		default:
		}
	}
	return p.DeepCopy(), nil
}

func (f *FakePods) Get(ns, name string) (*v1.Pod, error) {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	p, ok := f.Pods[key(ns, name)]
	if !ok {
		return nil, apierrors.NewNotFound(podsGR, name)
	}
	return p.DeepCopy(), nil
}

func (f *FakePods) List(ns string, sel labels.Selector) []*v1.Pod {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	var out []*v1.Pod
	for _, p := range f.Pods {
		if (ns == "" || p.Namespace == ns) && sel.Matches(labels.Set(p.Labels)) {
			out = append(out, p.DeepCopy())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (f *FakePods) Delete(ctx context.Context, ns, name string, opts pod.DeleteOptions) (*v1.Pod, error) {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	p, ok := f.Pods[key(ns, name)]
	if !ok {
		return nil, apierrors.NewNotFound(podsGR, name)
	}
	f.LastDelete = opts
	now := metav1.Now()
	p.DeletionTimestamp = &now
	out := p.DeepCopy()
	delete(f.Pods, key(ns, name)) // gone at once
	return out, nil
}

func (f *FakePods) Events(ns, name string) ([]v1.Event, error) {
	if _, err := f.Get(ns, name); err != nil {
		return nil, err
	}
	return []v1.Event{{
		ObjectMeta:     metav1.ObjectMeta{Name: name + ".1", Namespace: ns},
		InvolvedObject: v1.ObjectReference{Kind: "Pod", Name: name, Namespace: ns},
		Reason:         "Started", Message: "Started container c", Type: "Normal",
	}}, nil
}

func (f *FakePods) Watch(ctx context.Context, ns string, sel labels.Selector) (<-chan watch.Event, error) {
	ch := make(chan watch.Event, 16)
	f.Mu.Lock()
	f.watchers = append(f.watchers, ch)
	f.Mu.Unlock()
	return ch, nil
}

func (f *FakePods) LogPath(ns, name string, opts pod.LogOptions) (string, error) {
	if _, err := f.Get(ns, name); err != nil {
		return "", err
	}
	return filepath.Join(f.logDir, name+"_"+opts.Container+".log"), nil
}

// Exec: "echo ARGS" writes ARGS to stdout, "cat" copies stdin, "fail N" exits N, "err" fails.
func (f *FakePods) Exec(ctx context.Context, ns, name, container string, req *cri.ExecRequest) (int, error) {
	switch req.Cmd[0] {
	case "echo":
		fmt.Fprintln(req.Stdout, strings.Join(req.Cmd[1:], " "))
		if req.Stderr != nil {
			fmt.Fprintln(req.Stderr, "to stderr")
		}
		return 0, nil
	case "cat":
		if req.Stdin == nil {
			return 1, nil
		}
		_, err := io.Copy(req.Stdout, req.Stdin)
		return 0, err
	case "fail":
		var n int
		fmt.Sscan(req.Cmd[1], &n)
		return n, nil
	case "resize":
		ts := <-req.Resize
		fmt.Fprintf(req.Stdout, "%dx%d\n", ts.Width, ts.Height)
		return 0, nil
	}
	return -1, fmt.Errorf("exec %v: %w", req.Cmd, cri.ErrNotRunning)
}

func (f *FakePods) Inspect(ctx context.Context, ns, name string) (*pod.Inspect, error) {
	if _, err := f.Get(ns, name); err != nil {
		return nil, err
	}
	return &pod.Inspect{Sandbox: pod.InspectSandbox{ID: "abc", Pid: 42, Namespaces: map[string]string{"net": "/run/podrun/netns/abc"}}}, nil
}

type FakeImages struct{ Loaded []byte }

func (f *FakeImages) Load(ctx context.Context, r io.Reader) ([]*cri.Image, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if string(b) != "TAR" {
		return nil, fmt.Errorf("not a tar archive")
	}
	f.Loaded = b
	return []*cri.Image{{ID: "sha256:0123456789ab", RepoTags: []string{"docker.io/library/busybox:latest"}}}, nil
}

func (f *FakeImages) ListImages(ctx context.Context) ([]*cri.Image, error) {
	return []*cri.Image{{ID: "sha256:0123456789ab", RepoTags: []string{"docker.io/library/busybox:latest"}, Size: 1000}}, nil
}

// StartServer serves the API with fakes on a unix socket in a temp dir.
func StartServer(t testing.TB) (*api.Client, *FakePods, *FakeImages, string) {
	t.Helper()
	fp, fi := NewFakePods(t), &FakeImages{}
	dir, err := os.MkdirTemp("", "podrun-api")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "s.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(api.NewHandler(fp, fi, nil))
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return api.NewClient(sock), fp, fi, sock
}

func TestPod(name string, containers ...string) *v1.Pod {
	p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": name}}}
	for _, c := range containers {
		p.Spec.Containers = append(p.Spec.Containers, v1.Container{Name: c, Image: "busybox"})
	}
	return p
}

func Ctx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func PodLogOpts(c string) pod.LogOptions { return pod.LogOptions{Container: c} }
