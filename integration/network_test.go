package integration

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Pods get an IP on the host's pod network: the host and other pods reach the app on it.
func TestPodNetwork(t *testing.T) {
	e := newEnv(t)
	e.loadImage("demoapp")
	e.runWait(`apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: demoapp
    image: ikubernetes/demoapp:v1.0
`)
	p := e.waitRunning("web", 30*time.Second)
	if p.Status.PodIP == "" {
		t.Skip("pods get no IP yet: the daemon runs them without a pod network")
	}
	if len(p.Status.PodIPs) == 0 || p.Status.PodIPs[0].IP != p.Status.PodIP {
		t.Errorf("podIPs %v do not start with podIP %s", p.Status.PodIPs, p.Status.PodIP)
	}
	url := "http://" + p.Status.PodIP + "/"

	// From the host (traffic to a namespace this test made).
	var body string
	var err error
	for i := 0; i < 20; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		var resp *http.Response
		if resp, err = http.DefaultClient.Do(req); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
		}
		cancel()
		if err == nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil || !strings.Contains(body, "web") {
		t.Errorf("GET %s from the host: %q, %v; want the demo app naming pod web", url, body, err)
	}

	// From another pod.
	e.runWait(busyboxPod("client", "Always", "exec sleep 3600"))
	out, stderr, code := e.podrun("exec", "client", "--", "wget", "-qO-", url)
	if code != 0 || !strings.Contains(out, "web") {
		t.Errorf("wget %s from pod client: exit %d, %q %q", url, code, out, stderr)
	}
	if c, _ := e.getPod("client"); c != nil && c.Status.PodIP == p.Status.PodIP {
		t.Errorf("two pods share the IP %s", c.Status.PodIP)
	}
}
