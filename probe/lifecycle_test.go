package probe

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func hookTarget() *Target {
	return &Target{
		Pod:         &v1.Pod{ObjectMeta: metaPod()},
		Container:   &v1.Container{Name: "c"},
		ContainerID: "c1",
		PodIP:       "127.0.0.1",
	}
}

func TestRunHook(t *testing.T) {
	var gotUA string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotUA = r.UserAgent()
		w.WriteHeader(http.StatusInternalServerError) // hooks ignore the status code
	}))
	defer srv.Close()
	_, port := hostPort(t, srv.URL)

	tests := []struct {
		name    string
		exec    Execer
		h       *v1.LifecycleHandler
		ctx     func() (context.Context, context.CancelFunc)
		wantMsg string
	}{
		{"exec ok", exitWith(0, "", ""), &v1.LifecycleHandler{Exec: &v1.ExecAction{Command: []string{"sh", "-c", "echo hi"}}}, nil, ""},
		{"exec fails", exitWith(1, "", "boom\n"), &v1.LifecycleHandler{Exec: &v1.ExecAction{Command: []string{"sh", "-c", "exit 1"}}}, nil,
			`Exec lifecycle hook ([sh -c exit 1]) for Container "c" in Pod "p_ns(uid-1)" failed - error: command 'sh -c exit 1' exited with 1: boom` + "\n" + `, message: "boom\n"`},
		{"http any status", nil, &v1.LifecycleHandler{HTTPGet: &v1.HTTPGetAction{Path: "/hook", Port: intstr.FromInt(port)}}, nil, ""},
		{"http refused", nil, &v1.LifecycleHandler{HTTPGet: &v1.HTTPGetAction{Path: "/hook", Port: intstr.FromInt(closedPort(t))}}, nil,
			`HTTP lifecycle hook (/hook) for Container "c" in Pod "p_ns(uid-1)" failed - error: Get "http://127.0.0.1:`},
		{"sleep done", nil, &v1.LifecycleHandler{Sleep: &v1.SleepAction{Seconds: 0}}, nil, ""},
		{"sleep cut short", nil, &v1.LifecycleHandler{Sleep: &v1.SleepAction{Seconds: 30}},
			func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 50*time.Millisecond)
			},
			`Sleep lifecycle hook (30) for Container "c" in Pod "p_ns(uid-1)" failed - error: container terminated before sleep hook finished`},
		{"empty handler", nil, &v1.LifecycleHandler{}, nil, "Cannot run handler: invalid handler: "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.Background(), context.CancelFunc(func() {})
			if tc.ctx != nil {
				ctx, cancel = tc.ctx()
			}
			defer cancel()
			pr := &Prober{Exec: tc.exec}
			msg, err := pr.RunHook(ctx, tc.h, hookTarget())
			if (err == nil) != (tc.wantMsg == "") || !strings.HasPrefix(msg, tc.wantMsg) {
				t.Fatalf("got (%q, %v), want prefix %q", msg, err, tc.wantMsg)
			}
		})
	}
	if gotUA != LifecycleUserAgent {
		t.Errorf("hook User-Agent %q", gotUA)
	}
}

func TestRunHookHTTPSFallsBackToHTTP(t *testing.T) {
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		if r.Header.Get("Authorization") != "" {
			t.Errorf("Authorization sent in clear")
		}
	}))
	defer srv.Close()
	_, port := hostPort(t, srv.URL)
	h := &v1.LifecycleHandler{HTTPGet: &v1.HTTPGetAction{Path: "/", Port: intstr.FromInt(port), Scheme: v1.URISchemeHTTPS,
		HTTPHeaders: []v1.HTTPHeader{{Name: "Authorization", Value: "secret"}}}}
	if msg, err := (&Prober{}).RunHook(context.Background(), h, hookTarget()); err != nil {
		t.Fatalf("RunHook: %s", msg)
	}
	if hits != 1 {
		t.Fatalf("hits %d", hits)
	}
}

func TestMessages(t *testing.T) {
	tests := []struct{ got, want string }{
		{UnhealthyMessage(Liveness, "cat: can't open '/tmp/healthy': No such file or directory\n"), "Liveness probe failed: cat: can't open '/tmp/healthy': No such file or directory\n"},
		{UnhealthyMessage(Readiness, "HTTP probe failed with statuscode: 500"), "Readiness probe failed: HTTP probe failed with statuscode: 500"},
		{KillingMessage("app", Liveness, true), "Container app failed liveness probe, will be restarted"},
		{KillingMessage("app", Startup, true), "Container app failed startup probe, will be restarted"},
		{KillingMessage("app", Liveness, false), "Container app failed liveness probe"},
		{StoppingMessage("app"), "Stopping container app"},
		{FormatPod(&v1.Pod{ObjectMeta: metaPod()}), "p_ns(uid-1)"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	grace := int64(5)
	pod := &v1.Pod{}
	c := &v1.Container{LivenessProbe: &v1.Probe{TerminationGracePeriodSeconds: &grace}, ReadinessProbe: &v1.Probe{TerminationGracePeriodSeconds: &grace}}
	if g := KillGracePeriod(pod, c, Liveness); g != 5 {
		t.Errorf("liveness grace %d", g)
	}
	if g := KillGracePeriod(pod, c, Readiness); g != 30 {
		t.Errorf("readiness grace %d", g)
	}
}
