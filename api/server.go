package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/apimachinery/pkg/watch"
	sigsjson "sigs.k8s.io/json"

	"github.com/podrun/podrun/cri"
	"github.com/podrun/podrun/crilog"
	"github.com/podrun/podrun/images"
	"github.com/podrun/podrun/pod"
)

// Version is podrun's version, set at build time with -ldflags "-X github.com/podrun/podrun/api.Version=…".
var Version = "v0.1.0-dev"

// PodBackend is what the handlers need of the pod manager; *pod.Manager implements it, tests
// use a fake (package apitest).
type PodBackend interface {
	Create(ctx context.Context, p *v1.Pod) (*v1.Pod, error)
	Get(namespace, name string) (*v1.Pod, error)
	List(namespace string, sel labels.Selector) []*v1.Pod
	Delete(ctx context.Context, namespace, name string, opts pod.DeleteOptions) (*v1.Pod, error)
	Events(namespace, name string) ([]v1.Event, error)
	Watch(ctx context.Context, namespace string, sel labels.Selector) (<-chan watch.Event, error)
	LogPath(namespace, name string, opts pod.LogOptions) (string, error)
	Exec(ctx context.Context, namespace, name, container string, req *cri.ExecRequest) (int, error)
	Inspect(ctx context.Context, namespace, name string) (*pod.Inspect, error)
}

// ImageBackend is what the handlers need of the image store.
type ImageBackend interface {
	Load(ctx context.Context, r io.Reader) ([]*cri.Image, error)
	ListImages(ctx context.Context) ([]*cri.Image, error)
}

var (
	_ PodBackend   = (*pod.Manager)(nil)
	_ ImageBackend = (*images.Store)(nil)
)

// ImageList is the answer of GET /apis/podrun.io/v1/images and of an image load.
type ImageList struct {
	metav1.TypeMeta `json:",inline"`
	Items           []*cri.Image `json:"items"`
}

type server struct {
	pods   PodBackend
	images ImageBackend
	log    *slog.Logger
}

// NewServer returns the daemon's HTTP API (the routes are listed in routes).
func NewServer(mgr *pod.Manager, store *images.Store, logger *slog.Logger) http.Handler {
	return NewHandler(mgr, store, logger)
}

// NewHandler is NewServer over any backends (tests use fakes).
func NewHandler(pods PodBackend, imgs ImageBackend, logger *slog.Logger) http.Handler {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &server{pods: pods, images: imgs, log: logger}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/namespaces/{ns}/pods", s.createPod)
	mux.HandleFunc("GET /api/v1/namespaces/{ns}/pods", s.listPods)
	mux.HandleFunc("GET /api/v1/pods", s.listPods)
	mux.HandleFunc("GET /api/v1/namespaces/{ns}/pods/{name}", s.getPod)
	mux.HandleFunc("DELETE /api/v1/namespaces/{ns}/pods/{name}", s.deletePod)
	mux.HandleFunc("GET /api/v1/namespaces/{ns}/pods/{name}/log", s.podLog)
	mux.HandleFunc("POST /api/v1/namespaces/{ns}/pods/{name}/exec", s.podExec)
	mux.HandleFunc("GET /api/v1/namespaces/{ns}/pods/{name}/exec", s.podExec)
	mux.HandleFunc("GET /api/v1/namespaces/{ns}/events", s.listEvents)
	mux.HandleFunc("GET /apis/podrun.io/v1/namespaces/{ns}/pods/{name}/inspect", s.inspectPod)
	mux.HandleFunc("POST /apis/podrun.io/v1/images/load", s.loadImages)
	mux.HandleFunc("GET /apis/podrun.io/v1/images", s.listImages)
	mux.HandleFunc("GET /version", s.version)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "ok")
	})
	// The paths above with any other method: 405, as the API server answers.
	for _, path := range []string{
		"/api/v1/namespaces/{ns}/pods", "/api/v1/pods", "/api/v1/namespaces/{ns}/pods/{name}",
		"/api/v1/namespaces/{ns}/pods/{name}/log", "/api/v1/namespaces/{ns}/pods/{name}/exec",
		"/api/v1/namespaces/{ns}/events", "/apis/podrun.io/v1/namespaces/{ns}/pods/{name}/inspect",
		"/apis/podrun.io/v1/images/load", "/apis/podrun.io/v1/images", "/version", "/healthz",
	} {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			writeStatus(w, &metav1.Status{Code: http.StatusMethodNotAllowed, Reason: metav1.StatusReasonMethodNotAllowed},
				fmt.Sprintf("the server does not allow this method on the requested resource (%s %s)", r.Method, r.URL.Path))
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeStatus(w, &metav1.Status{Code: http.StatusNotFound, Reason: metav1.StatusReasonNotFound}, "the server could not find the requested resource")
	})
	return mux
}

// ---- responses ----

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	_ = enc.Encode(v)
}

// writeStatus writes a metav1.Status; message overrides the status message when not empty.
func writeStatus(w http.ResponseWriter, st *metav1.Status, message string) {
	s := *st
	s.TypeMeta = metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}
	if message != "" {
		s.Message = message
	}
	if s.Status == "" {
		s.Status = metav1.StatusFailure
	}
	code := int(s.Code)
	if code == 0 {
		code = http.StatusInternalServerError
		s.Code = int32(code)
	}
	writeJSON(w, code, &s)
}

// writeError answers err as the API server would: a StatusError passes through, anything
// else is an InternalError.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var se apierrors.APIStatus
	if errors.As(err, &se) {
		st := se.Status()
		writeStatus(w, &st, "")
		return
	}
	s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	writeStatus(w, &apierrors.NewInternalError(err).ErrStatus, "")
}

func badRequest(w http.ResponseWriter, msg string) {
	writeStatus(w, &apierrors.NewBadRequest(msg).ErrStatus, "")
}

func withPodType(p *v1.Pod) *v1.Pod {
	if p != nil {
		p.TypeMeta = metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"}
	}
	return p
}

// ---- query parsing: bad values are a 400 naming the parameter ----

type query struct {
	r   *http.Request
	err error
}

func (q *query) bool(name string) bool {
	v := q.r.URL.Query().Get(name)
	if v == "" || q.err != nil {
		return false
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		q.err = fmt.Errorf("invalid value %q for query parameter %s: must be true or false", v, name)
	}
	return b
}

func (q *query) int64p(name string) *int64 {
	v := q.r.URL.Query().Get(name)
	if v == "" || q.err != nil {
		return nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		q.err = fmt.Errorf("invalid value %q for query parameter %s: must be an integer", v, name)
		return nil
	}
	return &n
}

func (q *query) labelSelector() labels.Selector {
	v := q.r.URL.Query().Get("labelSelector")
	if q.err != nil {
		return labels.Everything()
	}
	sel, err := labels.Parse(v)
	if err != nil {
		q.err = fmt.Errorf("invalid labelSelector %q: %v", v, err)
		return labels.Everything()
	}
	return sel
}

func (q *query) fieldSelector(allowed ...string) fields.Selector {
	v := q.r.URL.Query().Get("fieldSelector")
	if q.err != nil {
		return fields.Everything()
	}
	sel, err := fields.ParseSelector(v)
	if err != nil {
		q.err = fmt.Errorf("invalid fieldSelector %q: %v", v, err)
		return fields.Everything()
	}
	for _, req := range sel.Requirements() {
		ok := false
		for _, a := range allowed {
			ok = ok || req.Field == a
		}
		if !ok {
			q.err = fmt.Errorf("invalid fieldSelector %q: field label not supported: %s", v, req.Field)
			return fields.Everything()
		}
	}
	return sel
}

// ---- pods ----

func (s *server) createPod(w http.ResponseWriter, r *http.Request) {
	ns := r.PathValue("ns")
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		badRequest(w, fmt.Sprintf("reading request body: %v", err))
		return
	}
	var p v1.Pod
	strict, err := sigsjson.UnmarshalStrict(body, &p)
	if err == nil && len(strict) > 0 {
		err = fmt.Errorf("strict decoding error: %v", joinErrors(strict))
	}
	if err != nil {
		badRequest(w, fmt.Sprintf("Pod in version \"v1\" cannot be handled as a Pod: %v", err))
		return
	}
	if (p.Kind != "" && p.Kind != "Pod") || (p.APIVersion != "" && p.APIVersion != "v1") {
		badRequest(w, fmt.Sprintf("the API version in the data (%s) and kind (%s) do not match the resource pods in v1", p.APIVersion, p.Kind))
		return
	}
	if p.Namespace == "" {
		p.Namespace = ns
	} else if p.Namespace != ns {
		badRequest(w, "the namespace of the provided object does not match the namespace sent on the request")
		return
	}
	created, err := s.pods.Create(r.Context(), &p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, withPodType(created))
}

func joinErrors(errs []error) string {
	var b strings.Builder
	for i, e := range errs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// podFieldSet is the fields a pod field selector can match, as the API server's
// pod.ToSelectableFields.
func podFieldSet(p *v1.Pod) fields.Set {
	return fields.Set{
		"metadata.name":      p.Name,
		"metadata.namespace": p.Namespace,
		"spec.nodeName":      p.Spec.NodeName,
		"spec.restartPolicy": string(p.Spec.RestartPolicy),
		"status.phase":       string(p.Status.Phase),
		"status.podIP":       p.Status.PodIP,
	}
}

var podFields = []string{"metadata.name", "metadata.namespace", "spec.nodeName", "spec.restartPolicy", "status.phase", "status.podIP"}

func (s *server) listPods(w http.ResponseWriter, r *http.Request) {
	ns := r.PathValue("ns") // "" for /api/v1/pods: every namespace
	q := &query{r: r}
	sel := q.labelSelector()
	fsel := q.fieldSelector(podFields...)
	watching := q.bool("watch")
	if q.err != nil {
		badRequest(w, q.err.Error())
		return
	}
	if watching {
		s.watchPods(w, r, ns, sel, fsel)
		return
	}
	list := &v1.PodList{TypeMeta: metav1.TypeMeta{Kind: "PodList", APIVersion: "v1"}, Items: []v1.Pod{}}
	for _, p := range s.pods.List(ns, sel) {
		if fsel.Matches(podFieldSet(p)) {
			list.Items = append(list.Items, *p)
		}
	}
	writeJSON(w, http.StatusOK, list)
}

// watchEvent is metav1.WatchEvent with the object inlined.
type watchEvent struct {
	Type   watch.EventType `json:"type"`
	Object any             `json:"object"`
}

func (s *server) watchPods(w http.ResponseWriter, r *http.Request, ns string, sel labels.Selector, fsel fields.Selector) {
	ch, err := s.pods.Watch(r.Context(), ns, sel)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Transfer-Encoding", "chunked")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	if flusher != nil {
		flusher.Flush()
	}
	enc := json.NewEncoder(w)
	for {
		select {
		case <-r.Context().Done():
			return
		case ev, ok := <-ch:
			if !ok {
				return
			}
			obj := ev.Object
			if p, ok := obj.(*v1.Pod); ok {
				if !fsel.Matches(podFieldSet(p)) {
					continue
				}
				obj = withPodType(p.DeepCopy())
			}
			if err := enc.Encode(watchEvent{Type: ev.Type, Object: obj}); err != nil {
				return
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
	}
}

func (s *server) getPod(w http.ResponseWriter, r *http.Request) {
	p, err := s.pods.Get(r.PathValue("ns"), r.PathValue("name"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, withPodType(p))
}

func (s *server) deletePod(w http.ResponseWriter, r *http.Request) {
	q := &query{r: r}
	opts := pod.DeleteOptions{GracePeriodSeconds: q.int64p("gracePeriodSeconds"), Force: q.bool("force")}
	if q.err != nil {
		badRequest(w, q.err.Error())
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		badRequest(w, fmt.Sprintf("reading request body: %v", err))
		return
	}
	if len(strings.TrimSpace(string(body))) > 0 {
		var do metav1.DeleteOptions
		strict, err := sigsjson.UnmarshalStrict(body, &do)
		if err == nil && len(strict) > 0 {
			err = fmt.Errorf("strict decoding error: %v", joinErrors(strict))
		}
		if err != nil {
			badRequest(w, fmt.Sprintf("DeleteOptions cannot be decoded: %v", err))
			return
		}
		if do.GracePeriodSeconds != nil && opts.GracePeriodSeconds == nil {
			opts.GracePeriodSeconds = do.GracePeriodSeconds
		}
	}
	if g := opts.GracePeriodSeconds; g != nil && *g < 0 {
		badRequest(w, fmt.Sprintf("invalid value %d for gracePeriodSeconds: must be >= 0", *g))
		return
	}
	p, err := s.pods.Delete(r.Context(), r.PathValue("ns"), r.PathValue("name"), opts)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, withPodType(p))
}

// containerNames lists the names of cs, space separated, as kubectl's messages do.
func containerNames(cs []v1.Container) string {
	names := make([]string, 0, len(cs))
	for _, c := range cs {
		names = append(names, c.Name)
	}
	return strings.Join(names, " ")
}

// ContainerFor picks the container a log or exec request is about: the named one, or the only
// app container. Its errors are kubectl's texts.
func ContainerFor(p *v1.Pod, name string) (string, error) {
	if name == "" {
		switch len(p.Spec.Containers) {
		case 1:
			return p.Spec.Containers[0].Name, nil
		case 0:
			return "", fmt.Errorf("a container name must be specified for pod %s", p.Name)
		}
		msg := fmt.Sprintf("a container name must be specified for pod %s, choose one of: [%s]", p.Name, containerNames(p.Spec.Containers))
		if len(p.Spec.InitContainers) > 0 {
			msg += fmt.Sprintf(" or one of the init containers: [%s]", containerNames(p.Spec.InitContainers))
		}
		return "", errors.New(msg)
	}
	for _, cs := range [][]v1.Container{p.Spec.Containers, p.Spec.InitContainers} {
		for _, c := range cs {
			if c.Name == name {
				return name, nil
			}
		}
	}
	for _, c := range p.Spec.EphemeralContainers {
		if c.Name == name {
			return name, nil
		}
	}
	return "", fmt.Errorf("container %s is not valid for pod %s", name, p.Name)
}

// containerRunning reports whether the named container of the pod is running now.
func containerRunning(p *v1.Pod, name string) bool {
	for _, sts := range [][]v1.ContainerStatus{p.Status.ContainerStatuses, p.Status.InitContainerStatuses} {
		for _, cs := range sts {
			if cs.Name == name {
				return cs.State.Running != nil
			}
		}
	}
	return false
}

func (s *server) podLog(w http.ResponseWriter, r *http.Request) {
	ns, name := r.PathValue("ns"), r.PathValue("name")
	q := &query{r: r}
	opts := pod.LogOptions{
		Container:  r.URL.Query().Get("container"),
		Follow:     q.bool("follow"),
		Previous:   q.bool("previous"),
		Timestamps: q.bool("timestamps"),
		TailLines:  q.int64p("tailLines"),
	}
	if q.err != nil {
		badRequest(w, q.err.Error())
		return
	}
	if opts.TailLines != nil && *opts.TailLines < 0 {
		badRequest(w, fmt.Sprintf("invalid value %d for tailLines: must be >= 0", *opts.TailLines))
		return
	}
	p, err := s.pods.Get(ns, name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := ContainerFor(p, opts.Container)
	if err != nil {
		badRequest(w, err.Error())
		return
	}
	opts.Container = c
	path, err := s.pods.LogPath(ns, name, opts)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	tail := -1
	if opts.TailLines != nil {
		tail = int(*opts.TailLines)
	}
	// The previous attempt's log is complete: following it would wait forever.
	follow := opts.Follow && !opts.Previous
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			badRequest(w, fmt.Sprintf("container %q in pod %q is waiting to start: no log yet", c, name))
			return
		}
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)
	fw := &flushWriter{w: w}
	if f, ok := w.(http.Flusher); ok {
		fw.f = f
		f.Flush()
	}
	stop := func() bool {
		cur, err := s.pods.Get(ns, name)
		return err != nil || !containerRunning(cur, c)
	}
	err = crilog.Read(r.Context(), path, crilog.ReadOptions{Follow: follow, Timestamps: opts.Timestamps, TailLines: tail, Stop: stop}, fw)
	if err != nil && r.Context().Err() == nil {
		// Headers are gone: all that is left is to say it in the daemon log.
		s.log.Warn("log stream ended", "pod", ns+"/"+name, "container", c, "err", err)
	}
}

// flushWriter flushes after every write so that `logs -f` shows lines as they come.
type flushWriter struct {
	w io.Writer
	f http.Flusher
}

func (fw *flushWriter) Write(p []byte) (int, error) {
	n, err := fw.w.Write(p)
	if fw.f != nil {
		fw.f.Flush()
	}
	return n, err
}

func (s *server) listEvents(w http.ResponseWriter, r *http.Request) {
	ns := r.PathValue("ns")
	q := &query{r: r}
	fsel := q.fieldSelector("involvedObject.name", "involvedObject.namespace", "involvedObject.kind", "involvedObject.uid", "reason", "type")
	if q.err != nil {
		badRequest(w, q.err.Error())
		return
	}
	var names []string
	if n, ok := fsel.RequiresExactMatch("involvedObject.name"); ok {
		names = []string{n}
	} else {
		for _, p := range s.pods.List(ns, labels.Everything()) {
			names = append(names, p.Name)
		}
	}
	list := &v1.EventList{TypeMeta: metav1.TypeMeta{Kind: "EventList", APIVersion: "v1"}, Items: []v1.Event{}}
	for _, n := range names {
		evs, err := s.pods.Events(ns, n)
		if apierrors.IsNotFound(err) {
			continue // the API server answers an empty list for an unknown object
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		for _, e := range evs {
			set := fields.Set{
				"involvedObject.name":      e.InvolvedObject.Name,
				"involvedObject.namespace": e.InvolvedObject.Namespace,
				"involvedObject.kind":      e.InvolvedObject.Kind,
				"involvedObject.uid":       string(e.InvolvedObject.UID),
				"reason":                   e.Reason,
				"type":                     e.Type,
			}
			if fsel.Matches(set) {
				list.Items = append(list.Items, e)
			}
		}
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *server) inspectPod(w http.ResponseWriter, r *http.Request) {
	in, err := s.pods.Inspect(r.Context(), r.PathValue("ns"), r.PathValue("name"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, in)
}

// ---- images ----

func (s *server) loadImages(w http.ResponseWriter, r *http.Request) {
	imgs, err := s.images.Load(r.Context(), r.Body)
	if err != nil {
		var se apierrors.APIStatus
		if errors.As(err, &se) {
			s.writeError(w, r, err)
			return
		}
		// A tarball the store cannot read is the caller's input, not a daemon failure.
		badRequest(w, fmt.Sprintf("load image archive: %v", err))
		return
	}
	writeJSON(w, http.StatusOK, &ImageList{TypeMeta: metav1.TypeMeta{Kind: "ImageList", APIVersion: "podrun.io/v1"}, Items: nonNil(imgs)})
}

func (s *server) listImages(w http.ResponseWriter, r *http.Request) {
	imgs, err := s.images.ListImages(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, &ImageList{TypeMeta: metav1.TypeMeta{Kind: "ImageList", APIVersion: "podrun.io/v1"}, Items: nonNil(imgs)})
}

func nonNil(imgs []*cri.Image) []*cri.Image {
	if imgs == nil {
		return []*cri.Image{}
	}
	return imgs
}

func (s *server) version(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, VersionInfo())
}

// VersionInfo describes this binary, as the API server's /version does.
func VersionInfo() *version.Info {
	return &version.Info{
		GitVersion: Version,
		GoVersion:  runtime.Version(),
		Compiler:   runtime.Compiler,
		Platform:   runtime.GOOS + "/" + runtime.GOARCH,
	}
}
