package integration

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// Bad input gets one clear line naming the field, a non-zero exit, and nothing half-made.
func TestBadInput(t *testing.T) {
	e := newEnv(t)
	const good = `apiVersion: v1
kind: Pod
metadata:
  name: good
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sleep", "3600"]
`
	cases := []struct {
		name string
		yaml string
		// want are substrings of the error; wantRE a regexp it must match.
		want   []string
		wantRE string
	}{
		{
			name:   "yaml syntax",
			yaml:   "apiVersion: v1\nkind: Pod\nmetadata:\n  name: bad\nspec:\n  containers:\n  - name: c\n    image: busybox\n    command: [sh, -c\n",
			wantRE: `line \d+`,
		},
		{
			name: "unknown field",
			yaml: strings.Replace(good, "    image: busybox\n", "    image: busybox\n    imagee: busybox\n", 1),
			want: []string{"spec.containers[0].imagee"},
		},
		{
			name: "wrong type",
			yaml: strings.Replace(good, "    image: busybox\n", "    image: busybox\n    ports:\n    - containerPort: eighty\n", 1),
			want: []string{"containerPort"},
		},
		{
			name: "invalid name",
			yaml: strings.Replace(good, "name: good", "name: My_Pod", 1),
			want: []string{"metadata.name"},
		},
		{
			name: "duplicate container names",
			yaml: good + "  - name: c\n    image: busybox\n    imagePullPolicy: IfNotPresent\n",
			want: []string{"spec.containers[1].name"},
		},
		{
			name: "missing image",
			yaml: strings.Replace(good, "    image: busybox\n", "", 1),
			want: []string{"spec.containers[0].image"},
		},
		{
			name: "image not in store with pullPolicy Never",
			yaml: strings.Replace(strings.Replace(good, "image: busybox", "image: nosuchimage:v9", 1), "IfNotPresent", "Never", 1),
			want: []string{"nosuchimage"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, verb := range [][]string{{"create", "-f"}, {"run"}} {
				out, stderr, code := e.podrun(append(verb, writeYAML(t, c.yaml))...)
				msg := strings.TrimSpace(stderr)
				t.Logf("%s: exit %d: %s", verb[0], code, msg)
				if code == 0 {
					t.Errorf("%s: exit 0 (stdout %q), want failure", verb[0], out)
				}
				if msg == "" || !oneLine(msg) {
					t.Errorf("%s: error is not one line:\n%s", verb[0], stderr)
				}
				for _, w := range c.want {
					if !strings.Contains(msg, w) {
						t.Errorf("%s: error %q does not name %q", verb[0], msg, w)
					}
				}
				if c.wantRE != "" && !regexp.MustCompile(c.wantRE).MatchString(msg) {
					t.Errorf("%s: error %q does not match %s", verb[0], msg, c.wantRE)
				}
				e.checkNothingCreated(t)
			}
		})
	}

	t.Run("existing pod name", func(t *testing.T) {
		e.runWait(good)
		_, stderr, code := e.podrun("create", "-f", writeYAML(t, good))
		msg := strings.TrimSpace(stderr)
		if code == 0 || !oneLine(msg) || !strings.Contains(msg, "already exists") || !strings.Contains(msg, "good") {
			t.Errorf("second create: exit %d, error %q; want one line naming good and 'already exists'", code, msg)
		}
		out := e.must("get", "pods", "-o", "name")
		if strings.TrimSpace(out) != "pod/good" {
			t.Errorf("get pods -o name = %q, want only pod/good", out)
		}
		if n := len(dirEntries(e.state + "/sandboxes")); n != 1 {
			t.Errorf("%d sandboxes, want 1", n)
		}
		e.must("delete", "pod", "good", "--grace-period", "1")
		if err := e.waitNoPods(30 * time.Second); err != nil {
			t.Fatal(err)
		}
		e.checkNothingCreated(t)
	})

	t.Run("no daemon", func(t *testing.T) {
		other := &env{t: t, socket: e.dir + "/none.sock"}
		_, stderr, code := other.podrun("get", "pods")
		if code == 0 || !strings.Contains(strings.ToLower(stderr), "daemon") || !oneLine(stderr) {
			t.Errorf("get pods with no daemon: exit %d, %q; want one line saying how to start the daemon", code, stderr)
		}
	})

	t.Run("missing file", func(t *testing.T) {
		_, stderr, code := e.podrun("create", "-f", e.dir+"/no-such.yaml")
		if code == 0 || !strings.Contains(stderr, "no-such.yaml") {
			t.Errorf("create -f missing file: exit %d, %q", code, stderr)
		}
	})
}

// checkNothingCreated: no pods listed, no sandboxes or containers on disk.
func (e *env) checkNothingCreated(t *testing.T) {
	t.Helper()
	out, _, code := e.podrun("get", "pods", "-A", "-o", "name")
	if code != 0 || strings.TrimSpace(out) != "" {
		t.Errorf("after a rejected create: get pods = %q (exit %d), want none", out, code)
	}
	for _, d := range []string{"sandboxes", "containers"} {
		if ents := dirEntries(e.state + "/" + d); len(ents) != 0 {
			t.Errorf("after a rejected create: %v left in state/%s", ents, d)
		}
	}
	if ents := dirEntries(e.root + "/pods"); len(ents) != 0 {
		t.Errorf("after a rejected create: %v left in root/pods", ents)
	}
}
