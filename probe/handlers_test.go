package probe

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/podrun/podrun/cri"
)

func TestExec(t *testing.T) {
	big := strings.Repeat("x", 20<<10)
	tests := []struct {
		name    string
		e       *fakeExecer
		want    Result
		wantOut string
		wantErr bool
	}{
		{"exit 0", exitWith(0, "ok\n", ""), Success, "ok\n", false},
		{"exit 1 keeps stdout then stderr", exitWith(1, "out ", "cat: can't open '/tmp/healthy': No such file or directory\n"), Failure, "out cat: can't open '/tmp/healthy': No such file or directory\n", false},
		{"output capped at 10 KiB", exitWith(2, big, "tail"), Failure, big[:maxOutput], false},
		{"timeout", timedOut(), Failure, `command "cat /tmp/healthy" timed out`, false},
		{"runtime error", &fakeExecer{fn: func(context.Context, []string, time.Duration) (*cri.ExecResult, error) {
			return nil, cri.ErrNotRunning
		}}, Unknown, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, out, err := Exec(context.Background(), tc.e, "c1", []string{"cat", "/tmp/healthy"}, time.Second)
			if r != tc.want || out != tc.wantOut || (err != nil) != tc.wantErr {
				t.Fatalf("got (%v, %.60q, %v), want (%v, %.60q, err=%v)", r, out, err, tc.want, tc.wantOut, tc.wantErr)
			}
		})
	}
}

func TestExecPassesTimeoutAndExpands(t *testing.T) {
	var gotTimeout time.Duration
	e := &fakeExecer{fn: func(_ context.Context, cmd []string, timeout time.Duration) (*cri.ExecResult, error) {
		gotTimeout = timeout
		return &cri.ExecResult{}, nil
	}}
	pr := &Prober{Exec: e, Expand: func(cmd []string, c *v1.Container) []string {
		return append([]string{"expanded"}, cmd...)
	}}
	p := &v1.Probe{ProbeHandler: v1.ProbeHandler{Exec: &v1.ExecAction{Command: []string{"true"}}}, TimeoutSeconds: 3}
	if r, _, err := pr.Probe(context.Background(), p, &Target{ContainerID: "c1", Container: &v1.Container{}}); r != Success || err != nil {
		t.Fatalf("Probe = %v, %v", r, err)
	}
	if gotTimeout != 3*time.Second {
		t.Errorf("timeout = %v, want 3s", gotTimeout)
	}
	if got := e.calls[0]; len(got) != 2 || got[0] != "expanded" {
		t.Errorf("command = %q", got)
	}
}

func TestResolvePort(t *testing.T) {
	c := &v1.Container{Ports: []v1.ContainerPort{{Name: "http", ContainerPort: 8080}}}
	tests := []struct {
		port    intstr.IntOrString
		want    int
		wantErr string
	}{
		{intstr.FromInt32(80), 80, ""},
		{intstr.FromString("http"), 8080, ""},
		{intstr.FromString("9090"), 9090, ""},
		{intstr.FromString("grpc"), 0, "port grpc not found"},
		{intstr.FromInt32(0), 0, "invalid port number: 0"},
		{intstr.FromInt32(70000), 0, "invalid port number: 70000"},
	}
	for _, tc := range tests {
		got, err := ResolvePort(tc.port, c)
		if got != tc.want || (err == nil) != (tc.wantErr == "") || (err != nil && err.Error() != tc.wantErr) {
			t.Errorf("ResolvePort(%v) = %d, %v; want %d, %q", tc.port.String(), got, err, tc.want, tc.wantErr)
		}
	}
}

// hostPort splits an httptest URL into host and port.
func hostPort(t *testing.T, rawURL string) (string, int) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(u.Port())
	return u.Hostname(), p
}

func TestHTTPGet(t *testing.T) {
	var lastReq *http.Request
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		lastReq = r
		fmt.Fprint(w, "healthy")
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, strings.Repeat("b", 50<<10)) })
	mux.HandleFunc("/fail", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", http.StatusInternalServerError) })
	mux.HandleFunc("/404", http.NotFound)
	mux.HandleFunc("/local-redirect", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ok", http.StatusFound) })
	mux.HandleFunc("/away", func(w http.ResponseWriter, r *http.Request) {
		// "localhost" is another host name than 127.0.0.1: the kubelet does not follow.
		http.Redirect(w, r, "http://localhost:1/elsewhere", http.StatusFound)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(3 * time.Second):
		case <-r.Context().Done():
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	tlsSrv := httptest.NewTLSServer(mux)
	defer tlsSrv.Close()
	host, port := hostPort(t, srv.URL)
	_, tlsPort := hostPort(t, tlsSrv.URL)
	c := &v1.Container{Ports: []v1.ContainerPort{{Name: "web", ContainerPort: int32(port)}}}

	tests := []struct {
		name      string
		action    v1.HTTPGetAction
		timeout   time.Duration
		want      Result
		outPrefix string
	}{
		{"2xx", v1.HTTPGetAction{Path: "/ok", Port: intstr.FromInt(port)}, time.Second, Success, "healthy"},
		{"port by name", v1.HTTPGetAction{Path: "/ok", Port: intstr.FromString("web")}, time.Second, Success, "healthy"},
		{"https skips verification", v1.HTTPGetAction{Path: "/ok", Port: intstr.FromInt(tlsPort), Scheme: v1.URISchemeHTTPS}, time.Second, Success, "healthy"},
		{"500", v1.HTTPGetAction{Path: "/fail", Port: intstr.FromInt(port)}, time.Second, Failure, "HTTP probe failed with statuscode: 500"},
		{"404", v1.HTTPGetAction{Path: "/404", Port: intstr.FromInt(port)}, time.Second, Failure, "HTTP probe failed with statuscode: 404"},
		{"local redirect followed", v1.HTTPGetAction{Path: "/local-redirect", Port: intstr.FromInt(port)}, time.Second, Success, "healthy"},
		{"redirect to another host is a warning", v1.HTTPGetAction{Path: "/away", Port: intstr.FromInt(port)}, time.Second, Warning, "Probe terminated redirects, Response body: "},
		{"timeout", v1.HTTPGetAction{Path: "/slow", Port: intstr.FromInt(port)}, 200 * time.Millisecond, Failure, fmt.Sprintf(`Get "http://%s:%d/slow": context deadline exceeded`, host, port)},
		{"connection refused", v1.HTTPGetAction{Path: "/", Port: intstr.FromInt(closedPort(t))}, time.Second, Failure, "Get "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, out, err := HTTPGet(context.Background(), &tc.action, c, host, tc.timeout, nil)
			if err != nil || r != tc.want || !strings.HasPrefix(out, tc.outPrefix) {
				t.Fatalf("got (%v, %.100q, %v), want (%v, prefix %q)", r, out, err, tc.want, tc.outPrefix)
			}
		})
	}

	t.Run("body capped at 10 KiB", func(t *testing.T) {
		_, out, _ := HTTPGet(context.Background(), &v1.HTTPGetAction{Path: "/big", Port: intstr.FromInt(port)}, c, host, time.Second, nil)
		if len(out) != maxOutput {
			t.Fatalf("body length %d, want %d", len(out), maxOutput)
		}
	})
	t.Run("headers, Host override, User-Agent, query", func(t *testing.T) {
		a := &v1.HTTPGetAction{Path: "/ok?x=1", Port: intstr.FromInt(port), HTTPHeaders: []v1.HTTPHeader{
			{Name: "Host", Value: "example.test"}, {Name: "X-Custom", Value: "a"}, {Name: "x-custom", Value: "b"},
		}}
		if r, _, _ := HTTPGet(context.Background(), a, c, host, time.Second, nil); r != Success {
			t.Fatalf("result %v", r)
		}
		if lastReq.Host != "example.test" || lastReq.UserAgent() != "kube-probe/1.37" ||
			strings.Join(lastReq.Header.Values("X-Custom"), ",") != "a,b" || lastReq.URL.RawQuery != "x=1" ||
			lastReq.Header.Get("Accept") != "*/*" {
			t.Fatalf("request: host %q ua %q x-custom %q query %q accept %q", lastReq.Host, lastReq.UserAgent(),
				lastReq.Header.Values("X-Custom"), lastReq.URL.RawQuery, lastReq.Header.Get("Accept"))
		}
		a.HTTPHeaders = []v1.HTTPHeader{{Name: "User-Agent", Value: "mine"}, {Name: "Accept", Value: ""}}
		HTTPGet(context.Background(), a, c, host, time.Second, nil)
		if lastReq.UserAgent() != "mine" || lastReq.Header.Get("Accept") != "" {
			t.Fatalf("ua %q accept %q", lastReq.UserAgent(), lastReq.Header.Get("Accept"))
		}
	})
	t.Run("unknown port name", func(t *testing.T) {
		r, _, err := HTTPGet(context.Background(), &v1.HTTPGetAction{Port: intstr.FromString("nope")}, c, host, time.Second, nil)
		if r != Unknown || err == nil {
			t.Fatalf("got %v, %v", r, err)
		}
	})
	t.Run("dialer hook is used", func(t *testing.T) {
		used := false
		dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
			used = true
			// The probe asks for the pod IP; the hook routes it to the server.
			return (&net.Dialer{}).DialContext(ctx, network, net.JoinHostPort(host, strconv.Itoa(port)))
		}
		r, _, _ := HTTPGet(context.Background(), &v1.HTTPGetAction{Path: "/ok", Port: intstr.FromInt(port)}, c, "10.99.0.1", time.Second, dial)
		if r != Success || !used {
			t.Fatalf("result %v, dialer used %v", r, used)
		}
	})
}

// closedPort returns a port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return p
}

func TestTCPSocket(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
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
	port := l.Addr().(*net.TCPAddr).Port
	c := &v1.Container{Ports: []v1.ContainerPort{{Name: "db", ContainerPort: int32(port)}}}
	tests := []struct {
		name   string
		action v1.TCPSocketAction
		want   Result
		out    string
	}{
		{"open", v1.TCPSocketAction{Port: intstr.FromInt(port)}, Success, ""},
		{"by name", v1.TCPSocketAction{Port: intstr.FromString("db")}, Success, ""},
		{"explicit host", v1.TCPSocketAction{Host: "127.0.0.1", Port: intstr.FromInt(port)}, Success, ""},
		{"refused", v1.TCPSocketAction{Port: intstr.FromInt(closedPort(t))}, Failure, "connect: connection refused"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, out, err := TCPSocket(context.Background(), &tc.action, c, "127.0.0.1", time.Second, nil)
			if err != nil || r != tc.want || !strings.Contains(out, tc.out) {
				t.Fatalf("got (%v, %q, %v), want %v containing %q", r, out, err, tc.want, tc.out)
			}
		})
	}
	t.Run("timeout", func(t *testing.T) {
		// A dialer that never connects stands for a black-holed address.
		hang := func(ctx context.Context, network, addr string) (net.Conn, error) {
			<-ctx.Done()
			return nil, &net.OpError{Op: "dial", Net: network, Err: ctx.Err()}
		}
		start := time.Now()
		r, out, _ := TCPSocket(context.Background(), &v1.TCPSocketAction{Port: intstr.FromInt(port)}, c, "127.0.0.1", 100*time.Millisecond, hang)
		if r != Failure || !strings.Contains(out, "deadline exceeded") || time.Since(start) > time.Second {
			t.Fatalf("got %v %q after %v", r, out, time.Since(start))
		}
	})
}

func TestGRPC(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	hs := health.NewServer()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus("down", healthpb.HealthCheckResponse_NOT_SERVING)
	healthpb.RegisterHealthServer(srv, hs)
	go srv.Serve(l)
	defer srv.Stop()
	port := int32(l.Addr().(*net.TCPAddr).Port)

	// A gRPC server without the health service.
	l2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	bare := grpc.NewServer()
	go bare.Serve(l2)
	defer bare.Stop()
	barePort := int32(l2.Addr().(*net.TCPAddr).Port)

	// A TCP server that accepts and never speaks: the health RPC hits the timeout.
	l3, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l3.Close()
	go func() {
		for {
			c, err := l3.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	mutePort := int32(l3.Addr().(*net.TCPAddr).Port)

	str := func(s string) *string { return &s }
	tests := []struct {
		name   string
		action v1.GRPCAction
		want   Result
		out    string
	}{
		{"serving", v1.GRPCAction{Port: port}, Success, "service healthy"},
		{"not serving", v1.GRPCAction{Port: port, Service: str("down")}, Failure, `service unhealthy (responded with "NOT_SERVING")`},
		{"unknown service", v1.GRPCAction{Port: port, Service: str("nope")}, Failure, "error: health rpc probe failed"},
		{"no health service", v1.GRPCAction{Port: barePort}, Failure, "error: this server does not implement the grpc health protocol (grpc.health.v1.Health)"},
		{"timeout", v1.GRPCAction{Port: mutePort}, Failure, "timeout: health rpc did not complete within 300ms"},
		{"refused", v1.GRPCAction{Port: int32(closedPort(t))}, Failure, "error: health rpc probe failed: rpc error: code = Unavailable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, out, err := GRPC(context.Background(), &tc.action, "127.0.0.1", 300*time.Millisecond, nil)
			t.Logf("%v %q", r, out)
			if err != nil || r != tc.want || !strings.HasPrefix(out, tc.out) {
				t.Fatalf("got (%v, %q, %v), want %v with prefix %q", r, out, err, tc.want, tc.out)
			}
		})
	}
}

func TestProbeDispatch(t *testing.T) {
	pr := &Prober{}
	if r, _, err := pr.Probe(context.Background(), &v1.Probe{}, &Target{}); r != Unknown || err == nil {
		t.Errorf("empty handler: %v %v", r, err)
	}
	if r, _, err := pr.Probe(context.Background(), &v1.Probe{ProbeHandler: v1.ProbeHandler{Exec: &v1.ExecAction{Command: []string{"x"}}}}, &Target{}); r != Unknown || err == nil {
		t.Errorf("exec without Execer: %v %v", r, err)
	}
}

func TestParseHealthResponse(t *testing.T) {
	frame := func(msg ...byte) []byte {
		return append([]byte{0, 0, 0, 0, byte(len(msg))}, msg...)
	}
	tests := []struct {
		name    string
		body    []byte
		want    uint64
		wantErr bool
	}{
		{"serving", frame(0x08, 0x01), 1, false},
		{"not serving", frame(0x08, 0x02), 2, false},
		{"empty message is UNKNOWN", frame(), 0, false},
		{"unknown fields skipped", frame(0x12, 0x02, 'h', 'i', 0x08, 0x01, 0x1d, 1, 2, 3, 4), 1, false},
		{"compressed", append([]byte{1}, frame(0x08, 0x01)[1:]...), 0, true},
		{"truncated", []byte{0, 0, 0, 0, 9, 0x08}, 0, true},
		{"bad varint", frame(0x08, 0x80), 0, true},
		{"short", []byte{0, 0}, 0, true},
	}
	for _, tc := range tests {
		got, err := parseHealthResponse(tc.body)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("%s: got %d, %v", tc.name, got, err)
		}
	}
}
