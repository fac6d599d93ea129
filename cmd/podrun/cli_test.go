package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/podrun/podrun/api/apitest"
)

const mypod = `apiVersion: v1
kind: Pod
metadata:
  name: mypod
  labels:
    app: mypod
    release: canary
spec:
  containers:
  - name: demoapp
    image: ikubernetes/demoapp:v1.0
`

const twoContainers = `apiVersion: v1
kind: Pod
metadata:
  name: duo
spec:
  initContainers:
  - name: init
    image: busybox
  containers:
  - name: a
    image: busybox
  - name: b
    image: busybox
`

type result struct {
	out, err string
	code     int
}

// runCLI runs the CLI in-process against the daemon at sock.
func runCLI(t *testing.T, sock, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	c := &cli{
		in: strings.NewReader(stdin), out: &out, errOut: &errb, stdinFd: -1,
		now:    func() time.Time { return time.Now() },
		getenv: func(k string) string { return map[string]string{"PODRUN_SOCKET": sock}[k] },
		startDaemon: func(ctx context.Context, c *cli) error {
			t.Fatal("startDaemon called")
			return nil
		},
	}
	code := c.execute(apitest.Ctx(t), args)
	return result{out.String(), errb.String(), code}
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "pod.yaml")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func expect(t *testing.T, r result, code int, out, errOut string) {
	t.Helper()
	if r.code != code || !strings.Contains(r.out, out) || !strings.Contains(r.err, errOut) {
		t.Errorf("got exit %d\nstdout: %q\nstderr: %q\nwant exit %d, stdout containing %q, stderr containing %q", r.code, r.out, r.err, code, out, errOut)
	}
}

func TestCLIPodLifecycle(t *testing.T) {
	_, _, _, sock := apitest.StartServer(t)
	f := writeFile(t, mypod)

	expect(t, runCLI(t, sock, "", "get", "pods"), 0, "", "No resources found in default namespace.\n")
	expect(t, runCLI(t, sock, "", "get", "pods", "-A"), 0, "", "No resources found\n")
	expect(t, runCLI(t, sock, "", "create", "-f", f), 0, "pod/mypod created\n", "")
	expect(t, runCLI(t, sock, "", "create", "-f", f), 1, "", `Error from server (AlreadyExists): pods "mypod" already exists`+"\n")
	expect(t, runCLI(t, sock, mypod, "apply", "-f", "-"), 0, "pod/mypod unchanged\n", "missing the kubectl.kubernetes.io/last-applied-configuration annotation")

	r := runCLI(t, sock, "", "get", "pods")
	expect(t, r, 0, "NAME    READY   STATUS    RESTARTS   AGE\nmypod   1/1     Running   0", "")
	expect(t, runCLI(t, sock, "", "get", "po", "-o", "wide", "--show-labels"), 0, "app=mypod,release=canary", "")
	expect(t, runCLI(t, sock, "", "get", "pods", "-o", "name"), 0, "pod/mypod\n", "")
	expect(t, runCLI(t, sock, "", "get", "pods", "-l", "app=other"), 0, "", "No resources found")
	expect(t, runCLI(t, sock, "", "get", "pods", "-l", "app==="), 1, "", "error: invalid label selector")
	expect(t, runCLI(t, sock, "", "get", "pod", "mypod", "-o", "yaml"), 0, "apiVersion: v1\nkind: Pod\nmetadata:\n", "")
	r = runCLI(t, sock, "", "get", "pods", "-o", "json")
	expect(t, r, 0, "{\n    \"apiVersion\": \"v1\",\n    \"items\": [\n        {\n            \"apiVersion\": \"v1\",\n            \"kind\": \"Pod\",", "")
	expect(t, r, 0, "\"kind\": \"List\",\n    \"metadata\": {\n        \"resourceVersion\": \"\"\n    }\n}\n", "")
	expect(t, runCLI(t, sock, "", "get", "pods", "-o", "yaml"), 0, "kind: List\nmetadata:\n  resourceVersion: \"\"\n", "")
	expect(t, runCLI(t, sock, "", "get", "pod/mypod", "-o", "name"), 0, "pod/mypod\n", "")
	expect(t, runCLI(t, sock, "", "get", "pod", "nope"), 1, "", `Error from server (NotFound): pods "nope" not found`+"\n")
	expect(t, runCLI(t, sock, "", "get", "pod", "mypod", "nope", "-o", "name"), 1, "pod/mypod\n", `pods "nope" not found`)
	expect(t, runCLI(t, sock, "", "get", "svc"), 1, "", `error: the server doesn't have a resource type "svc"`)
	expect(t, runCLI(t, sock, "", "get", "pods", "-o", "toml"), 1, "", `error: unable to match a printer suitable for the output format "toml"`)
	expect(t, runCLI(t, sock, "", "get", "pods", "--bogus"), 1, "", "error: unknown flag: --bogus")
	expect(t, runCLI(t, sock, "", "-n", "other", "get", "pods"), 0, "", "No resources found in other namespace.")

	expect(t, runCLI(t, sock, "", "inspect", "pod", "mypod"), 0, `"pid": 42`, "")
	expect(t, runCLI(t, sock, "", "exec", "mypod", "--", "echo", "hi", "there"), 0, "hi there\n", "to stderr\n")
	expect(t, runCLI(t, sock, "", "exec", "mypod", "--", "fail", "3"), 3, "", "command terminated with exit code 3\n")
	expect(t, runCLI(t, sock, "abc", "exec", "-i", "mypod", "--", "cat"), 0, "abc", "")
	expect(t, runCLI(t, sock, "abc", "exec", "-it", "mypod", "--", "cat"), 0, "abc", "Unable to use a TTY - input is not a terminal or the right kind of file\n")
	expect(t, runCLI(t, sock, "", "exec", "mypod", "echo"), 1, "", "error: exec [POD] [COMMAND] is not supported anymore. Use exec [POD] -- [COMMAND] instead")
	expect(t, runCLI(t, sock, "", "exec", "mypod"), 1, "", "error: you must specify at least one command for the container")
	expect(t, runCLI(t, sock, "", "exec", "nope", "--", "ls"), 1, "", `Error from server (NotFound): pods "nope" not found`)

	expect(t, runCLI(t, sock, "", "delete", "pod", "mypod"), 0, "pod \"mypod\" deleted\n", "")
	expect(t, runCLI(t, sock, "", "delete", "pod", "mypod"), 1, "", `Error from server (NotFound): pods "mypod" not found`)
	expect(t, runCLI(t, sock, "", "delete", "pods"), 1, "", "error: resource(s) were provided, but no name was specified")
}

func TestCLIApplyCreatesThenUnchanged(t *testing.T) {
	_, _, _, sock := apitest.StartServer(t)
	f := writeFile(t, mypod)
	expect(t, runCLI(t, sock, "", "apply", "-f", f), 0, "pod/mypod created\n", "")
	expect(t, runCLI(t, sock, "", "apply", "-f", f), 0, "pod/mypod unchanged\n", "")
	changed := writeFile(t, strings.Replace(mypod, "v1.0", "v1.1", 1))
	expect(t, runCLI(t, sock, "", "apply", "-f", changed), 1, "", `error: The Pod "mypod" is invalid: spec: Forbidden: pod updates may not change fields`)
}

func TestCLIDeleteVariants(t *testing.T) {
	_, fp, _, sock := apitest.StartServer(t)
	f := writeFile(t, mypod+"---\n"+twoContainers)
	expect(t, runCLI(t, sock, "", "create", "-f", f), 0, "pod/mypod created\npod/duo created\n", "")
	r := runCLI(t, sock, "", "delete", "pod", "duo", "--force")
	expect(t, r, 0, "pod \"duo\" force deleted\n", forceWarning+"\n")
	if g := fp.LastDelete.GracePeriodSeconds; !fp.LastDelete.Force || g == nil || *g != 0 {
		t.Errorf("--force sent %+v", fp.LastDelete)
	}
	expect(t, runCLI(t, sock, "", "delete", "-f", f, "--grace-period", "5"), 1, "pod \"mypod\" deleted\n", `pods "duo" not found`)
	if g := fp.LastDelete.GracePeriodSeconds; fp.LastDelete.Force || g == nil || *g != 5 {
		t.Errorf("--grace-period 5 sent %+v", fp.LastDelete)
	}
	expect(t, runCLI(t, sock, "", "create", "-f", f), 0, "pod/duo created\n", "")
	expect(t, runCLI(t, sock, "", "delete", "pods", "--all", "--grace-period=0"), 0, "pod \"duo\" deleted\npod \"mypod\" deleted\n", "")
	if g := fp.LastDelete.GracePeriodSeconds; g == nil || *g != 1 {
		t.Errorf("--grace-period=0 without --force must send 1, sent %+v", fp.LastDelete)
	}
	expect(t, runCLI(t, sock, "", "delete", "pods", "--all"), 0, "", "No resources found")
}

func TestCLILogs(t *testing.T) {
	_, fp, _, sock := apitest.StartServer(t)
	expect(t, runCLI(t, sock, twoContainers, "create", "-f", "-"), 0, "pod/duo created\n", "")
	expect(t, runCLI(t, sock, "", "logs", "duo"), 1, "", "error: a container name must be specified for pod duo, choose one of: [a b] or one of the init containers: [init]\n")
	expect(t, runCLI(t, sock, "", "logs", "duo", "-c", "zz"), 1, "", "error: container zz is not valid for pod duo\n")
	path, _ := fp.LogPath("default", "duo", apitest.PodLogOpts("b"))
	if err := os.WriteFile(path, []byte("2026-11-28T14:00:00.1Z stdout F one\n2026-11-28T14:00:01.1Z stdout F two\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	expect(t, runCLI(t, sock, "", "logs", "duo", "-c", "b"), 0, "one\ntwo\n", "")
	expect(t, runCLI(t, sock, "", "logs", "duo", "b", "--tail", "1"), 0, "two\n", "")
	expect(t, runCLI(t, sock, "", "logs", "pod/duo", "-c", "b", "--timestamps", "--tail=1"), 0, "2026-11-28T14:00:01.1Z two\n", "")
	expect(t, runCLI(t, sock, "", "logs", "nope"), 1, "", `Error from server (NotFound): pods "nope" not found`)
}

func TestCLIDecodeErrors(t *testing.T) {
	_, _, _, sock := apitest.StartServer(t)
	bad := writeFile(t, strings.Replace(mypod, "image:", "imagee:", 1))
	r := runCLI(t, sock, "", "create", "-f", bad)
	expect(t, r, 1, "", `: line 11: unknown field "spec.containers[0].imagee"`)
	if !strings.HasPrefix(r.err, "error: ") || strings.Count(r.err, "\n") != 1 {
		t.Errorf("want one error line, got %q", r.err)
	}
	// A file of one pod is sent as read and decoded here only when the daemon refuses it (the
	// line above); with a second file, both are decoded first and nothing is created.
	good := writeFile(t, strings.Replace(mypod, "name: mypod", "name: other", 1))
	expect(t, runCLI(t, sock, "", "run", bad), 1, "", `: line 11: unknown field "spec.containers[0].imagee"`)
	expect(t, runCLI(t, sock, "", "create", "-f", good, "-f", bad), 1, "", `: line 11: unknown field "spec.containers[0].imagee"`)
	two := strings.Replace(mypod, "name: mypod", "name: other", 1) + "---\n" + strings.Replace(mypod, "image:", "imagee:", 1)
	expect(t, runCLI(t, sock, two, "run", "-"), 1, "", `unknown field "spec.containers[0].imagee"`)
	expect(t, runCLI(t, sock, "", "get", "pods"), 0, "", "No resources found in default namespace.\n")
	expect(t, runCLI(t, sock, "", "create", "-f", "/nonexistent.yaml"), 1, "", `error: the path "/nonexistent.yaml" does not exist`)
	expect(t, runCLI(t, sock, "kind: Pod\n", "create", "-f", "-"), 1, "", "error: STDIN: line 1: apiVersion not set")
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\n" + mypod
	expect(t, runCLI(t, sock, cm, "create", "-f", "-"), 0, "pod/mypod created\n", `Warning: STDIN: line 1: ConfigMap "c" ignored`)
	ns := strings.Replace(mypod, "name: mypod", "name: mypod\n  namespace: prod", 1)
	expect(t, runCLI(t, sock, ns, "-n", "dev", "create", "-f", "-"), 1, "", `error: the namespace from the provided object "prod" does not match the namespace "dev".`)
}

func TestCLIUnreachable(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "none.sock")
	for _, args := range [][]string{{"get", "pods"}, {"describe", "pod", "x"}, {"logs", "x"}, {"delete", "pod", "x"}, {"images"}, {"exec", "x", "--", "ls"}} {
		r := runCLI(t, sock, "", args...)
		want := "error: cannot reach the podrun daemon at " + sock + ": "
		if r.code != 1 || !strings.HasPrefix(r.err, want) || !strings.HasSuffix(r.err, "— start it with 'podrun daemon' (or 'podrun run FILE' starts one)\n") {
			t.Errorf("%v: exit %d stderr %q", args, r.code, r.err)
		}
	}
}

func TestCLIRunStartsDaemonAndWaits(t *testing.T) {
	_, fp, _, sock := apitest.StartServer(t)
	missing := filepath.Join(t.TempDir(), "absent.sock")
	var out, errb bytes.Buffer
	started := false
	c := &cli{
		in: strings.NewReader(""), out: &out, errOut: &errb, stdinFd: -1, now: time.Now,
		getenv: func(string) string { return "" },
		startDaemon: func(ctx context.Context, c *cli) error {
			started = true
			c.socket = sock // the "started" daemon is the test server
			return nil
		},
	}
	// A bad file is reported as such, and starts no daemon.
	bad := writeFile(t, strings.Replace(mypod, "image:", "imagee:", 1))
	if code := c.execute(apitest.Ctx(t), []string{"--socket", missing, "run", bad}); code != 1 || started || !strings.Contains(errb.String(), `: line 11: unknown field "spec.containers[0].imagee"`) {
		t.Fatalf("run of a bad file without a daemon: exit %d, daemon started %v, stderr %q", code, started, errb.String())
	}
	errb.Reset()
	code := c.execute(apitest.Ctx(t), []string{"--socket", missing, "run", "--wait", "--timeout", "5s", writeFile(t, mypod)})
	if code != 0 || !started || out.String() != "pod/mypod created\n" {
		t.Fatalf("run: exit %d started %v stdout %q stderr %q", code, started, out.String(), errb.String())
	}

	// A pod that fails makes run --wait exit 1 with the reason.
	fail := strings.Replace(mypod, "name: mypod", "name: bad", 1)
	go func() {
		time.Sleep(300 * time.Millisecond)
		fp.Mu.Lock()
		p := fp.Pods["default/bad"]
		p.Status.Phase = v1.PodFailed
		p.Status.ContainerStatuses[0].Ready = false
		p.Status.ContainerStatuses[0].State = v1.ContainerState{Terminated: &v1.ContainerStateTerminated{ExitCode: 2, Reason: "Error"}}
		fp.Mu.Unlock()
	}()
	fp.Mu.Lock()
	fp.NotReady = true
	fp.Mu.Unlock()
	r := runCLI(t, sock, fail, "run", "--wait", "-")
	expect(t, r, 1, "pod/bad created\n", "error: pod/bad failed: container demoapp exited with code 2 (Error)\n")
}

func TestCLIImagesAndVersion(t *testing.T) {
	_, _, fi, sock := apitest.StartServer(t)
	tar := filepath.Join(t.TempDir(), "busybox.tar")
	os.WriteFile(tar, []byte("TAR"), 0o644)
	expect(t, runCLI(t, sock, "", "load", "-i", tar), 0, "Loaded image: docker.io/library/busybox:latest\n", "")
	if string(fi.Loaded) != "TAR" {
		t.Errorf("loaded %q", fi.Loaded)
	}
	expect(t, runCLI(t, sock, "", "load", "-i", writeFile(t, "junk")), 1, "", "Error from server (BadRequest): load image archive: not a tar archive")
	expect(t, runCLI(t, sock, "", "images"), 0, "REPOSITORY", "")
	expect(t, runCLI(t, sock, "", "version"), 0, "Client Version: v", "")
	expect(t, runCLI(t, sock, "", "version"), 0, "Server Version: v", "")
}

func TestCLIDescribe(t *testing.T) {
	_, _, _, sock := apitest.StartServer(t)
	expect(t, runCLI(t, sock, mypod, "create", "-f", "-"), 0, "pod/mypod created", "")
	expect(t, runCLI(t, sock, "", "describe", "pod", "mypod"), 0, "mypod", "")
	expect(t, runCLI(t, sock, "", "describe", "pod", "nope"), 1, "", `Error from server (NotFound): pods "nope" not found`)
}

func TestCLIGetWatch(t *testing.T) {
	cl, _, _, sock := apitest.StartServer(t)
	expect(t, runCLI(t, sock, mypod, "create", "-f", "-"), 0, "pod/mypod created", "")
	var out, errb bytes.Buffer
	c := &cli{in: strings.NewReader(""), out: &out, errOut: &errb, stdinFd: -1, now: time.Now,
		getenv: func(k string) string { return map[string]string{"PODRUN_SOCKET": sock}[k] }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- c.execute(ctx, []string{"get", "pods", "-w"}) }()
	time.Sleep(300 * time.Millisecond)
	p := &v1.Pod{}
	p.Name = "second-pod-with-a-long-name"
	p.Spec.Containers = []v1.Container{{Name: "c", Image: "busybox"}}
	if _, err := cl.CreatePod(apitest.Ctx(t), "default", p); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	cancel()
	if code := <-done; code != 130 {
		t.Fatalf("get -w exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "NAME") || !strings.HasPrefix(lines[1], "mypod ") || !strings.HasPrefix(lines[2], "second-pod-with-a-long-name   1/1") {
		t.Errorf("watch output:\n%s", out.String())
	}
}

func TestCLICreateFromDirectory(t *testing.T) {
	_, _, _, sock := apitest.StartServer(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(mypod), 0o644)
	os.WriteFile(filepath.Join(dir, "b.yml"), []byte(twoContainers), 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a manifest"), 0o644)
	expect(t, runCLI(t, sock, "", "create", "-f", dir), 0, "pod/mypod created\npod/duo created\n", "")
}

func TestCLIDaemonRefusesSecondDaemon(t *testing.T) {
	_, _, _, sock := apitest.StartServer(t)
	expect(t, runCLI(t, sock, "", "daemon", "--root", t.TempDir(), "--state", t.TempDir()), 1, "", "error: another podrun daemon is already answering on "+sock+"\n")
	expect(t, runCLI(t, sock, "", "daemon", "--log-level", "loud"), 1, "", `error: invalid --log-level "loud"`)
	expect(t, runCLI(t, filepath.Join(t.TempDir(), "x.sock"), "", "daemon", "--backoff-base", "0s"), 1, "", "error: invalid back-off")
}

func TestInvalidMessage(t *testing.T) {
	one := apierrors.NewInvalid(schema.GroupKind{Kind: "Pod"}, "My_Pod", field.ErrorList{field.Invalid(field.NewPath("metadata", "name"), "My_Pod", "bad name")})
	two := apierrors.NewInvalid(schema.GroupKind{Kind: "Pod"}, "p", field.ErrorList{
		field.Required(field.NewPath("spec", "containers").Index(0).Child("image"), ""),
		field.Duplicate(field.NewPath("spec", "containers").Index(1).Child("name"), "c"),
	})
	c := &cli{}
	if got, want := c.errorLine(one), `The Pod "My_Pod" is invalid: metadata.name: Invalid value: "My_Pod": bad name`; got != want {
		t.Errorf("one cause:\n got %q\nwant %q", got, want)
	}
	want := "The Pod \"p\" is invalid: \n* spec.containers[0].image: Required value\n* spec.containers[1].name: Duplicate value: \"c\""
	if got := c.errorLine(two); got != want {
		t.Errorf("two causes:\n got %q\nwant %q", got, want)
	}
}

func TestCLICreateSaveConfigThenApply(t *testing.T) {
	_, _, _, sock := apitest.StartServer(t)
	f := writeFile(t, mypod)
	expect(t, runCLI(t, sock, "", "create", "--save-config", "-f", f), 0, "pod/mypod created\n", "")
	r := runCLI(t, sock, "", "apply", "-f", f)
	expect(t, r, 0, "pod/mypod unchanged\n", "")
	if r.err != "" {
		t.Errorf("apply after --save-config warned: %q", r.err)
	}
}

// TestCloseOnExecInherited: a descriptor the daemon inherited open across exec is marked
// close-on-exec, so that monitors and helpers do not keep it.
func TestCloseOnExecInherited(t *testing.T) {
	var p [2]int
	if err := unix.Pipe2(p[:], 0); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	for _, fd := range p {
		if flags, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); flags&unix.FD_CLOEXEC != 0 {
			t.Fatalf("fd %d is close-on-exec already", fd)
		}
	}
	if err := closeOnExecInherited(); err != nil {
		t.Fatal(err)
	}
	for _, fd := range p {
		if flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil || flags&unix.FD_CLOEXEC == 0 {
			t.Errorf("fd %d: flags %#x, %v; want close-on-exec", fd, flags, err)
		}
	}
}
