package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/apimachinery/pkg/watch"
	sigsjson "sigs.k8s.io/json"

	"github.com/podrun/podrun/cri"
	"github.com/podrun/podrun/pod"
)

// Client talks to a podrun daemon over its unix socket. API errors come back as
// *apierrors.StatusError; a daemon that cannot be reached as *UnreachableError.
type Client struct {
	socket string
	hc     *http.Client
}

// UnreachableError says no daemon answers on the socket.
type UnreachableError struct {
	Socket string
	Err    error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach the podrun daemon at %s: %v", e.Socket, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// NewClient returns a client of the daemon at socketPath.
func NewClient(socketPath string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socketPath)
		},
		DisableCompression: true,
	}
	return &Client{socket: socketPath, hc: &http.Client{Transport: tr}}
}

// Socket returns the socket path of the daemon.
func (c *Client) Socket() string { return c.socket }

func (c *Client) dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", c.socket)
	if err != nil {
		return nil, &UnreachableError{Socket: c.socket, Err: err}
	}
	return conn, nil
}

// do sends a request and returns the response when its status is 2xx; other statuses are
// decoded into a StatusError.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, body io.Reader, contentType string) (*http.Response, error) {
	u := "http://podrun" + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if isDialError(err) {
			return nil, &UnreachableError{Socket: c.socket, Err: unwrapDial(err)}
		}
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		return nil, decodeStatus(resp)
	}
	return resp, nil
}

func isDialError(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	return errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED)
}

func unwrapDial(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}

// decodeStatus turns an error response into a *apierrors.StatusError.
func decodeStatus(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var st metav1.Status
	if json.Unmarshal(b, &st) == nil && st.Kind == "Status" {
		return &apierrors.StatusError{ErrStatus: st}
	}
	msg := strings.TrimSpace(string(b))
	if msg == "" {
		msg = resp.Status
	}
	return apierrors.NewGenericServerResponse(resp.StatusCode, resp.Request.Method, v1Resource("pods"), "", msg, 0, false)
}

func (c *Client) getJSON(ctx context.Context, path string, q url.Values, out any) error {
	resp, err := c.do(ctx, http.MethodGet, path, q, nil, "")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return decodeBody(resp, out)
}

func decodeBody(resp *http.Response, out any) error {
	b, err := io.ReadAll(resp.Body)
	if err == nil {
		err = unmarshal(b, out)
	}
	if err != nil {
		return fmt.Errorf("decode answer of %s %s: %w", resp.Request.Method, resp.Request.URL.Path, err)
	}
	return nil
}

// unmarshal decodes an answer as the daemon decodes requests and the CLI its manifests:
// with sigs.k8s.io/json (case-sensitive, as the API server). The three then share one cache
// of the v1.Pod type's fields, which a process builds once, at a cost: the CLI building a
// second one in encoding/json for the answers was ≈ 10 % of a `podrun run`'s CPU.
func unmarshal(b []byte, out any) error { return sigsjson.UnmarshalCaseSensitivePreserveInts(b, out) }

func podsPath(ns string) string {
	if ns == "" {
		return "/api/v1/pods"
	}
	return "/api/v1/namespaces/" + url.PathEscape(ns) + "/pods"
}

func podPath(ns, name string) string {
	return podsPath(ns) + "/" + url.PathEscape(name)
}

// Ping checks that a daemon answers.
func (c *Client) Ping(ctx context.Context) error {
	resp, err := c.do(ctx, http.MethodGet, "/healthz", nil, nil, "")
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// Version returns the daemon's version.
func (c *Client) Version(ctx context.Context) (*version.Info, error) {
	var v version.Info
	if err := c.getJSON(ctx, "/version", nil, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// CreatePod creates a pod in ns.
func (c *Client) CreatePod(ctx context.Context, ns string, p *v1.Pod) (*v1.Pod, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	return c.CreatePodJSON(ctx, ns, b)
}

// CreatePodJSON creates a pod from its JSON (a Manifest's JSON: the CLI sends what it read,
// as kubectl does, without encoding a v1.Pod again); an empty metadata.namespace is ns.
func (c *Client) CreatePodJSON(ctx context.Context, ns string, b []byte) (*v1.Pod, error) {
	var out v1.Pod
	if err := c.CreatePodJSONInto(ctx, ns, b, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreatePodJSONInto is CreatePodJSON decoding the created pod into out, which may be any type
// with a few of a pod's JSON fields: a fresh CLI that needs only the names skips the costly
// first decode of a v1.Pod.
func (c *Client) CreatePodJSONInto(ctx context.Context, ns string, b []byte, out any) error {
	resp, err := c.do(ctx, http.MethodPost, podsPath(ns), nil, bytes.NewReader(b), "application/json")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return decodeBody(resp, out)
}

// GetPod returns one pod.
func (c *Client) GetPod(ctx context.Context, ns, name string) (*v1.Pod, error) {
	var out v1.Pod
	if err := c.GetPodInto(ctx, ns, name, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetPodInto is GetPod decoding into out (see CreatePodJSONInto); a *json.RawMessage keeps
// the pod's JSON as the daemon sent it.
func (c *Client) GetPodInto(ctx context.Context, ns, name string, out any) error {
	return c.getJSON(ctx, podPath(ns, name), nil, out)
}

// DecodePod decodes a pod's JSON from the daemon (a RawPodEvent's, GetPodInto's) as GetPod
// does.
func DecodePod(b []byte) (*v1.Pod, error) {
	var p v1.Pod
	if err := unmarshal(b, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// ListOptions select pods.
type ListOptions struct {
	LabelSelector string
	FieldSelector string
}

func (o ListOptions) values() url.Values {
	q := url.Values{}
	if o.LabelSelector != "" {
		q.Set("labelSelector", o.LabelSelector)
	}
	if o.FieldSelector != "" {
		q.Set("fieldSelector", o.FieldSelector)
	}
	return q
}

// ListPods lists the pods of ns ("" = every namespace).
func (c *Client) ListPods(ctx context.Context, ns string, opts ListOptions) (*v1.PodList, error) {
	var out v1.PodList
	if err := c.getJSON(ctx, podsPath(ns), opts.values(), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// PodEvent is one event of a pod watch.
type PodEvent struct {
	Type watch.EventType
	Pod  *v1.Pod
}

// WatchPods streams the changes of the pods of ns ("" = all) until ctx ends or the daemon
// closes the stream; the channel is closed then.
func (c *Client) WatchPods(ctx context.Context, ns string, opts ListOptions) (<-chan PodEvent, error) {
	raw, err := c.WatchPodsRaw(ctx, ns, opts)
	if err != nil {
		return nil, err
	}
	ch := make(chan PodEvent)
	go func() {
		defer close(ch)
		for ev := range raw {
			p, err := DecodePod(ev.Object)
			if err != nil {
				continue
			}
			select {
			case ch <- PodEvent{Type: ev.Type, Pod: p}:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch, nil
}

// RawPodEvent is a change of a pod with the pod's JSON as the daemon sent it.
type RawPodEvent struct {
	Type   watch.EventType `json:"type"`
	Object json.RawMessage `json:"object"`
}

// WatchPodsRaw is WatchPods without decoding the pods (see CreatePodJSONInto).
func (c *Client) WatchPodsRaw(ctx context.Context, ns string, opts ListOptions) (<-chan RawPodEvent, error) {
	q := opts.values()
	q.Set("watch", "true")
	resp, err := c.do(ctx, http.MethodGet, podsPath(ns), q, nil, "")
	if err != nil {
		return nil, err
	}
	ch := make(chan RawPodEvent)
	go func() {
		defer close(ch)
		defer resp.Body.Close()
		dec := json.NewDecoder(resp.Body)
		for {
			var ev RawPodEvent
			if err := dec.Decode(&ev); err != nil {
				return
			}
			select {
			case ch <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch, nil
}

// DeleteOptions are the options of DeletePod.
type DeleteOptions struct {
	GracePeriodSeconds *int64
	Force              bool
}

// DeletePod starts the deletion of a pod and returns it (with its deletionTimestamp).
func (c *Client) DeletePod(ctx context.Context, ns, name string, opts DeleteOptions) (*v1.Pod, error) {
	q := url.Values{}
	if opts.GracePeriodSeconds != nil {
		q.Set("gracePeriodSeconds", strconv.FormatInt(*opts.GracePeriodSeconds, 10))
	}
	if opts.Force {
		q.Set("force", "true")
	}
	resp, err := c.do(ctx, http.MethodDelete, podPath(ns, name), q, nil, "")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out v1.Pod
	return &out, decodeBody(resp, &out)
}

// PodEvents returns the events of one pod.
func (c *Client) PodEvents(ctx context.Context, ns, name string) (*v1.EventList, error) {
	var out v1.EventList
	q := url.Values{"fieldSelector": {"involvedObject.name=" + name}}
	if err := c.getJSON(ctx, "/api/v1/namespaces/"+url.PathEscape(ns)+"/events", q, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Inspect returns the runtime view of a pod.
func (c *Client) Inspect(ctx context.Context, ns, name string) (*pod.Inspect, error) {
	var out pod.Inspect
	if err := c.getJSON(ctx, "/apis/podrun.io/v1/namespaces/"+url.PathEscape(ns)+"/pods/"+url.PathEscape(name)+"/inspect", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// LogOptions are the options of Logs.
type LogOptions struct {
	Container  string
	Follow     bool
	Previous   bool
	Timestamps bool
	TailLines  *int64
}

// Logs copies a container's log to w; with Follow it returns when the container stops or ctx
// ends.
func (c *Client) Logs(ctx context.Context, ns, name string, opts LogOptions, w io.Writer) error {
	q := url.Values{}
	if opts.Container != "" {
		q.Set("container", opts.Container)
	}
	if opts.Follow {
		q.Set("follow", "true")
	}
	if opts.Previous {
		q.Set("previous", "true")
	}
	if opts.Timestamps {
		q.Set("timestamps", "true")
	}
	if opts.TailLines != nil {
		q.Set("tailLines", strconv.FormatInt(*opts.TailLines, 10))
	}
	resp, err := c.do(ctx, http.MethodGet, podPath(ns, name)+"/log", q, nil, "")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(w, resp.Body)
	if err != nil && ctx.Err() != nil {
		return nil
	}
	return err
}

// LoadImages sends an image archive (docker save or OCI) to the daemon's store.
func (c *Client) LoadImages(ctx context.Context, r io.Reader) ([]*cri.Image, error) {
	resp, err := c.do(ctx, http.MethodPost, "/apis/podrun.io/v1/images/load", nil, r, "application/x-tar")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out ImageList
	return out.Items, decodeBody(resp, &out)
}

// ListImages lists the images of the daemon's store.
func (c *Client) ListImages(ctx context.Context) ([]*cri.Image, error) {
	var out ImageList
	if err := c.getJSON(ctx, "/apis/podrun.io/v1/images", nil, &out); err != nil {
		return nil, err
	}
	return out.Items, nil
}

// ExecOptions are the options of Exec.
type ExecOptions struct {
	Container string
	Command   []string
	TTY       bool
	Stdin     io.Reader // nil: no stdin
	Stdout    io.Writer
	Stderr    io.Writer
	Resize    <-chan cri.TerminalSize // may be nil
}

// Exec runs a command in a container of a pod over the podrun.exec.v1 stream protocol
// (exec_stream.go) and returns its exit code.
func (c *Client) Exec(ctx context.Context, ns, name string, opts ExecOptions) (int, error) {
	q := url.Values{"command": opts.Command}
	if opts.Container != "" {
		q.Set("container", opts.Container)
	}
	if opts.Stdin != nil {
		q.Set("stdin", "true")
	}
	if opts.TTY {
		q.Set("tty", "true")
	}
	conn, err := c.dial(ctx)
	if err != nil {
		return -1, err
	}
	defer conn.Close()
	req, err := http.NewRequest(http.MethodPost, "http://podrun"+podPath(ns, name)+"/exec?"+q.Encode(), nil)
	if err != nil {
		return -1, err
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", ExecUpgrade)
	if err := req.Write(conn); err != nil {
		return -1, fmt.Errorf("exec: send request: %w", err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return -1, fmt.Errorf("exec: read answer: %w", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		defer resp.Body.Close()
		return -1, decodeStatus(resp)
	}
	// ctx ending (a signal to the CLI) ends the stream: the daemon then kills the process.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	mux := &frameMux{w: conn}
	if opts.Stdin != nil {
		go func() {
			_, _ = io.Copy(&channelWriter{mux: mux, ch: ChannelStdin}, opts.Stdin)
			_ = mux.write(ChannelStdin, nil)
		}()
	}
	if opts.Resize != nil {
		go func() {
			for {
				select {
				case ts, ok := <-opts.Resize:
					if !ok {
						return
					}
					b, _ := json.Marshal(ts)
					if mux.write(ChannelResize, b) != nil {
						return
					}
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	stdout, stderr := opts.Stdout, opts.Stderr
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	for {
		ch, p, err := readFrame(br)
		if err != nil {
			if ctx.Err() != nil {
				return -1, ctx.Err()
			}
			return -1, fmt.Errorf("exec: stream ended without an exit status: %w", err)
		}
		switch ch {
		case ChannelStdout:
			if _, err := stdout.Write(p); err != nil {
				return -1, err
			}
		case ChannelStderr:
			if _, err := stderr.Write(p); err != nil {
				return -1, err
			}
		case ChannelStatus:
			var st ExecStatus
			if err := json.Unmarshal(p, &st); err != nil {
				return -1, fmt.Errorf("exec: bad status frame: %w", err)
			}
			if st.Status == metav1.StatusFailure && st.Reason != "NonZeroExitCode" {
				return -1, &apierrors.StatusError{ErrStatus: metav1.Status{
					TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
					Status:   metav1.StatusFailure, Code: st.Code,
					Reason: metav1.StatusReason(st.Reason), Message: st.Message,
				}}
			}
			return st.ExitCode, nil
		}
	}
}

func v1Resource(resource string) schema.GroupResource {
	return schema.GroupResource{Resource: resource}
}
