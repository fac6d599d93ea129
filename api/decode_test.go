package api

import (
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	sigsjson "sigs.k8s.io/json"
)

func TestDecodeManifests(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		wantPods []string
		wantWarn int
		wantErr  string
	}{
		{
			name: "one pod",
			in: `apiVersion: v1
kind: Pod
metadata:
  name: mypod
  labels:
    app: mypod
spec:
  containers:
  - name: demoapp
    image: ikubernetes/demoapp:v1.0
`,
			wantPods: []string{"mypod"},
		},
		{
			name: "multi document with configmap and comments",
			in: `# leading comment
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
data:
  a: b
---
apiVersion: v1
kind: Pod
metadata: {name: a}
spec: {containers: [{name: c, image: busybox}]}
---
{"apiVersion":"v1","kind":"Pod","metadata":{"name":"b"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}
`,
			wantPods: []string{"a", "b"},
			wantWarn: 1,
		},
		{
			name: "list of pods",
			in: `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: x1}
  spec: {containers: [{name: c, image: busybox}]}
- apiVersion: v1
  kind: Pod
  metadata: {name: y1}
  spec: {containers: [{name: c, image: busybox}]}
`,
			wantPods: []string{"x1", "y1"},
		},
		{
			name: "unknown field with line",
			in: `apiVersion: v1
kind: Pod
metadata:
  name: mypod
spec:
  containers:
  - name: demoapp
    image: busybox
  - name: two
    imagee: busybox
`,
			wantErr: `f.yaml: line 10: unknown field "spec.containers[1].imagee"`,
		},
		{
			name: "unknown field in second document",
			in: `apiVersion: v1
kind: Pod
metadata: {name: a}
spec: {containers: [{name: c, image: busybox}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: b
  labelz: {}
spec: {containers: [{name: c, image: busybox}]}
`,
			wantErr: `f.yaml: line 10: unknown field "metadata.labelz"`,
		},
		{
			name: "wrong type with path and line",
			in: `apiVersion: v1
kind: Pod
metadata:
  name: mypod
spec:
  containers:
  - name: demoapp
    image: busybox
    ports:
    - containerPort: "80"
`,
			wantErr: `f.yaml: line 10: spec.containers[0].ports[0].containerPort: cannot unmarshal string into int32`,
		},
		{
			name: "wrong type in second container",
			in: `apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - name: a
    image: busybox
    ports:
    - containerPort: 80
  - name: b
    image: busybox
    ports:
    - containerPort: 81
    - containerPort: [1]
`,
			wantErr: `f.yaml: line 14: spec.containers[1].ports[1].containerPort: cannot unmarshal array into int32`,
		},
		{
			name: "label value number",
			in: `apiVersion: v1
kind: Pod
metadata:
  name: p
  labels:
    app: 1
spec: {containers: [{name: a, image: busybox}]}
`,
			wantErr: `f.yaml: line 6: metadata.labels.app: cannot unmarshal number into string`,
		},
		{
			name: "yaml syntax error",
			in: `apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  containers:
  - name: a
   image: busybox
`,
			wantErr: `error parsing f.yaml: yaml: line 7: did not find expected key`,
		},
		{
			name: "yaml syntax error in second doc has file line",
			in: `apiVersion: v1
kind: Pod
metadata: {name: a}
spec: {containers: [{name: c, image: busybox}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: p
 bad: x
`,
			wantErr: `error parsing f.yaml: yaml: line 9:`,
		},
		{
			name:    "missing kind",
			in:      "apiVersion: v1\nmetadata: {name: a}\n",
			wantErr: `f.yaml: line 1: kind not set`,
		},
		{
			name:    "missing both",
			in:      "metadata: {name: a}\n",
			wantErr: `f.yaml: line 1: apiVersion and kind not set`,
		},
		{
			name:    "unsupported kind",
			in:      "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\n",
			wantErr: `kind "Deployment" of apiVersion "apps/v1" is not supported`,
		},
		{
			name:    "not an object",
			in:      "- a\n- b\n",
			wantErr: `f.yaml: line 1: expected an object`,
		},
		{
			name: "duplicate field",
			in: `apiVersion: v1
kind: Pod
metadata:
  name: a
  name: b
spec: {containers: [{name: c, image: busybox}]}
`,
			wantErr: `error parsing f.yaml: yaml: unmarshal errors: line 5: key "name" already set in map`,
		},
		{
			name: "bad quantity",
			in: `apiVersion: v1
kind: Pod
metadata: {name: a}
spec:
  containers:
  - name: c
    image: busybox
    resources: {limits: {memory: lots}}
`,
			wantErr: `quantities must match`,
		},
		{
			name:     "empty file",
			in:       "# nothing\n",
			wantPods: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pods, warns, err := DecodeManifests([]byte(tt.in), "f.yaml")
			checkDeferred(t, tt.in, pods, warns, err)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			var names []string
			for _, p := range pods {
				names = append(names, p.Pod.Name)
				// Each pod's JSON (a List item's own) decodes to the same pod: it is what
				// create sends.
				var again v1.Pod
				if strict, err := sigsjson.UnmarshalStrict(p.JSON, &again); err != nil || len(strict) > 0 || !equality.Semantic.DeepEqual(&again, p.Pod) {
					t.Errorf("pod %s: its JSON %s decodes to %+v (%v %v)", p.Pod.Name, p.JSON, again, err, strict)
				}
			}
			if strings.Join(names, ",") != strings.Join(tt.wantPods, ",") {
				t.Errorf("pods = %v, want %v", names, tt.wantPods)
			}
			if len(warns) != tt.wantWarn {
				t.Errorf("warnings = %v, want %d", warns, tt.wantWarn)
			}
		})
	}
}

// checkDeferred: DecodeManifestsDeferred gives what DecodeManifests gave (pods, warnings, error),
// except that the error of a badly typed or unknown field comes from the Check of the pod that
// has it, the first such pod's being the error DecodeManifests returned.
func checkDeferred(t *testing.T, in string, pods []Manifest, warns []string, err error) {
	t.Helper()
	dpods, dwarns, derr := DecodeManifestsDeferred([]byte(in), "f.yaml")
	if derr == nil {
		for _, d := range dpods {
			if d.Check == nil {
				t.Fatalf("deferred pod %s has no Check", d.Pod.Name)
			}
			if derr = d.Check(); derr != nil {
				break
			}
		}
	}
	if err != nil {
		if derr == nil || derr.Error() != err.Error() {
			t.Errorf("deferred: error %v, want %v", derr, err)
		}
		return
	}
	if derr != nil || len(dpods) != len(pods) || len(dwarns) != len(warns) {
		t.Fatalf("deferred: %d pods, %d warnings, %v; want %d, %d, nil", len(dpods), len(dwarns), derr, len(pods), len(warns))
	}
	for i, d := range dpods {
		p := pods[i].Pod
		if d.Pod.Name != p.Name || d.Pod.Namespace != p.Namespace || string(d.JSON) != string(pods[i].JSON) || d.Line != pods[i].Line {
			t.Errorf("deferred pod %d: %s/%s line %d, want %s/%s line %d", i, d.Pod.Namespace, d.Pod.Name, d.Line, p.Namespace, p.Name, pods[i].Line)
		}
	}
}
