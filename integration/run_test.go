package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func examplesDir() string {
	if d := os.Getenv("PODRUN_EXAMPLES"); d != "" {
		return d
	}
	return filepath.Join(repoRoot(), "examples")
}

// The seed's mypod: run --wait, get (plain, wide, labels, yaml, name), describe with Events,
// and the demo app answering inside the pod.
func TestRunMypod(t *testing.T) {
	e := newEnv(t)
	e.loadImage("demoapp")
	if out := e.must("images"); !strings.Contains(out, "demoapp") || !strings.Contains(out, "busybox") {
		t.Errorf("images does not list demoapp and busybox:\n%s", out)
	}
	out := e.must("run", "--wait", filepath.Join(examplesDir(), "mypod.yaml"))
	if !strings.Contains(out, "pod/mypod created") {
		t.Errorf("run output %q, want pod/mypod created", out)
	}
	e.waitRunning("mypod", 10*time.Second)

	header, rows := parseTable(e.must("get", "pods"))
	if strings.Join(header, "|") != "NAME|READY|STATUS|RESTARTS|AGE" {
		t.Errorf("get pods header %v", header)
	}
	if len(rows) != 1 || rows[0]["NAME"] != "mypod" || rows[0]["READY"] != "1/1" ||
		rows[0]["STATUS"] != "Running" || rows[0]["RESTARTS"] != "0" {
		t.Errorf("get pods rows %v, want mypod 1/1 Running 0", rows)
	}

	wide := e.must("get", "pods", "-o", "wide", "--show-labels")
	header, rows = parseTable(wide)
	wantHeader := "NAME|READY|STATUS|RESTARTS|AGE|IP|NODE|NOMINATED NODE|READINESS GATES|LABELS"
	if strings.Join(header, "|") != wantHeader {
		t.Errorf("get pods -o wide --show-labels header %q, want %q", strings.Join(header, "|"), wantHeader)
	}
	if len(rows) == 1 {
		r := rows[0]
		if r["LABELS"] != "app=mypod,release=canary" {
			t.Errorf("LABELS = %q", r["LABELS"])
		}
		if r["NODE"] == "" || r["NODE"] == "<none>" {
			t.Errorf("NODE = %q, want this host's name", r["NODE"])
		}
		if r["NOMINATED NODE"] != "<none>" || r["READINESS GATES"] != "<none>" {
			t.Errorf("NOMINATED NODE/READINESS GATES = %q/%q, want <none>", r["NOMINATED NODE"], r["READINESS GATES"])
		}
	}
	t.Logf("get pods -o wide --show-labels:\n%s", wide)

	if out := e.must("get", "pods", "-o", "name"); out != "pod/mypod\n" {
		t.Errorf("-o name = %q", out)
	}
	if out := e.must("get", "pods", "-l", "app=mypod", "-o", "name"); out != "pod/mypod\n" {
		t.Errorf("-l app=mypod = %q", out)
	}
	if out, _, _ := e.podrun("get", "pods", "-l", "app=other", "-o", "name"); strings.TrimSpace(out) != "" {
		t.Errorf("-l app=other = %q, want nothing", out)
	}
	if out := e.must("get", "pods", "-A"); !strings.Contains(out, "NAMESPACE") || !strings.Contains(out, "default") {
		t.Errorf("get pods -A lacks the NAMESPACE column:\n%s", out)
	}
	yml := e.must("get", "pod", "mypod", "-o", "yaml")
	for _, w := range []string{"apiVersion: v1", "kind: Pod", "phase: Running", "qosClass: BestEffort",
		"restartPolicy: Always", "terminationGracePeriodSeconds: 30", "imagePullPolicy: IfNotPresent",
		"dnsPolicy: ClusterFirst", "containerID: podrun://", "type: Initialized", "type: ContainersReady",
		"type: PodScheduled", "type: Ready", "startTime:", "hostIP:", "uid:"} {
		if !strings.Contains(yml, w) {
			t.Errorf("get pod -o yaml lacks %q", w)
		}
	}

	desc := e.must("describe", "pod", "mypod")
	for _, w := range []string{"Name:", "Namespace:", "default", "Labels:", "app=mypod", "release=canary",
		"Status:", "Running", "Containers:", "demoapp:", "Container ID:", "Image:", "ikubernetes/demoapp:v1.0",
		"Restart Count:", "Conditions:", "QoS Class:", "BestEffort", "Events:",
		"Scheduled", "Pulled", "Created", "Started"} {
		if !strings.Contains(desc, w) {
			t.Errorf("describe pod lacks %q", w)
		}
	}
	t.Logf("describe pod mypod:\n%s", desc)

	// The app answers on 127.0.0.1:80 inside the pod.
	var body, stderr string
	var code int
	for i := 0; i < 30; i++ {
		body, stderr, code = e.podrun("exec", "mypod", "--", "wget", "-qO-", "http://127.0.0.1/")
		if code == 0 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if code != 0 || !strings.Contains(body, "mypod") {
		t.Errorf("wget http://127.0.0.1/ in mypod: exit %d, body %q, stderr %q: want an answer naming mypod", code, body, stderr)
	}
}

// create -f - and apply -f read stdin and files as kubectl does.
func TestCreateApplyStdin(t *testing.T) {
	e := newEnv(t)
	out, stderr, code := e.podrunIn(busyboxPod("fromstdin", "Always", "exec sleep 3600"), "create", "-f", "-")
	if code != 0 || !strings.Contains(out, "pod/fromstdin created") {
		t.Errorf("create -f -: exit %d, %q %q", code, out, stderr)
	}
	out = e.must("apply", "-f", writeYAML(t, busyboxPod("applied", "Always", "exec sleep 3600")))
	if !strings.Contains(out, "pod/applied") {
		t.Errorf("apply -f: %q", out)
	}
	e.waitRunning("fromstdin", 30*time.Second)
	e.waitRunning("applied", 30*time.Second)
}

// The other examples run as documented.
func TestExamples(t *testing.T) {
	e := newEnv(t)
	e.loadImage("demoapp")
	e.must("run", "--wait", filepath.Join(examplesDir(), "init-containers.yaml"))
	e.waitRunning("init-demo", 30*time.Second)
	var out string
	for i := 0; i < 50; i++ {
		if out = e.must("logs", "init-demo", "-c", "app"); out != "" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if out != "init1\ninit2\n" {
		t.Errorf("init-demo app log = %q, want init1, init2", out)
	}
	e.must("run", "--wait", filepath.Join(examplesDir(), "sidecar.yaml"))
	p := e.waitRunning("sidecar-demo", 30*time.Second)
	if n := len(p.Status.ContainerStatuses); n != 3 {
		t.Errorf("sidecar-demo has %d container statuses, want 3", n)
	}
}
