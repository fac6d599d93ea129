package pod

import (
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestValidatePod(t *testing.T) {
	never := v1.ContainerRestartPolicyAlways
	onFailure := v1.ContainerRestartPolicy("OnFailure")
	neg := int64(-1)
	tests := []struct {
		name   string
		mutate func(p *v1.Pod)
		want   []string // substrings of the aggregated message, one per expected error
	}{
		{"valid", func(p *v1.Pod) {}, nil},
		{"bad name", func(p *v1.Pod) { p.Name = "My_Pod" }, []string{`metadata.name: Invalid value: "My_Pod": a lowercase RFC 1123 subdomain`}},
		{"bad namespace", func(p *v1.Pod) { p.Namespace = "a.b" }, []string{`metadata.namespace: Invalid value: "a.b"`}},
		{"no containers", func(p *v1.Pod) { p.Spec.Containers = nil }, []string{"spec.containers: Required value"}},
		{"duplicate across init and app", func(p *v1.Pod) {
			p.Spec.InitContainers = []v1.Container{{Name: "app", Image: "x:1", ImagePullPolicy: v1.PullIfNotPresent, TerminationMessagePolicy: v1.TerminationMessageReadFile}}
		}, []string{`spec.initContainers[0].name: Duplicate value: "app"`}},
		{"duplicate app", func(p *v1.Pod) { p.Spec.Containers = append(p.Spec.Containers, p.Spec.Containers[0]) },
			[]string{`spec.containers[1].name: Duplicate value: "app"`}},
		{"no image", func(p *v1.Pod) { p.Spec.Containers[0].Image = "" }, []string{"spec.containers[0].image: Required value"}},
		{"bad container name", func(p *v1.Pod) { p.Spec.Containers[0].Name = "App" }, []string{`spec.containers[0].name: Invalid value: "App"`}},
		{"restart policy", func(p *v1.Pod) { p.Spec.RestartPolicy = "Sometimes" },
			[]string{`spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"`}},
		{"pull policy", func(p *v1.Pod) { p.Spec.Containers[0].ImagePullPolicy = "Maybe" },
			[]string{`spec.containers[0].imagePullPolicy: Unsupported value: "Maybe"`}},
		{"volumes", func(p *v1.Pod) {
			p.Spec.Volumes = []v1.Volume{{Name: "v", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}},
				{Name: "v", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}}}
			p.Spec.Containers[0].VolumeMounts = []v1.VolumeMount{{Name: "w", MountPath: "/a"}, {Name: "v", MountPath: "rel"},
				{Name: "v", MountPath: "/a"}, {Name: "v", MountPath: "/b", SubPath: "../x"}}
		}, []string{`spec.volumes[1].name: Duplicate value: "v"`, `spec.containers[0].volumeMounts[0].name: Not found: "w"`,
			`spec.containers[0].volumeMounts[1].mountPath: Invalid value: "rel": must be an absolute path`,
			`spec.containers[0].volumeMounts[2].mountPath: Invalid value: "/a": must be unique`,
			`spec.containers[0].volumeMounts[3].subPath: Invalid value: "../x": must not contain '..'`}},
		{"ports", func(p *v1.Pod) {
			p.Spec.Containers[0].Ports = []v1.ContainerPort{{Name: "http", ContainerPort: 0, Protocol: v1.ProtocolTCP},
				{Name: "http", ContainerPort: 70000, Protocol: v1.ProtocolTCP}, {ContainerPort: 80, Protocol: "HTTP"}}
		}, []string{"spec.containers[0].ports[0].containerPort: Required value", `spec.containers[0].ports[1].name: Duplicate value: "http"`,
			"spec.containers[0].ports[1].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
			`spec.containers[0].ports[2].protocol: Unsupported value: "HTTP"`}},
		{"hostNetwork port mismatch", func(p *v1.Pod) {
			p.Spec.HostNetwork = true
			p.Spec.Containers[0].Ports = []v1.ContainerPort{{ContainerPort: 80, HostPort: 81, Protocol: v1.ProtocolTCP}}
		}, []string{"spec.containers[0].ports[0].containerPort: Invalid value: 80: must match `hostPort` when `hostNetwork` is true"}},
		{"probe handlers", func(p *v1.Pod) {
			p.Spec.Containers[0].LivenessProbe = &v1.Probe{TimeoutSeconds: 1, PeriodSeconds: 1, SuccessThreshold: 1, FailureThreshold: 1}
			p.Spec.Containers[0].ReadinessProbe = &v1.Probe{ProbeHandler: v1.ProbeHandler{Exec: &v1.ExecAction{}, TCPSocket: &v1.TCPSocketAction{Port: intstr.FromInt32(1)}},
				TimeoutSeconds: 1, PeriodSeconds: 1, SuccessThreshold: 1, FailureThreshold: 1}
		}, []string{"spec.containers[0].livenessProbe: Required value: must specify a handler type",
			"spec.containers[0].readinessProbe: Forbidden: may not specify more than 1 handler type"}},
		{"negative grace", func(p *v1.Pod) { p.Spec.TerminationGracePeriodSeconds = &neg },
			[]string{"spec.terminationGracePeriodSeconds: Invalid value: -1: must be >= 0"}},
		{"init restartPolicy", func(p *v1.Pod) {
			p.Spec.InitContainers = []v1.Container{
				{Name: "ok", Image: "x:1", RestartPolicy: &never, ImagePullPolicy: v1.PullIfNotPresent, TerminationMessagePolicy: v1.TerminationMessageReadFile},
				{Name: "bad", Image: "x:1", RestartPolicy: &onFailure, ImagePullPolicy: v1.PullIfNotPresent, TerminationMessagePolicy: v1.TerminationMessageReadFile}}
		}, []string{`spec.initContainers[1].restartPolicy: Unsupported value: "OnFailure": supported values: "Always"`}},
		{"app restartPolicy", func(p *v1.Pod) { p.Spec.Containers[0].RestartPolicy = &never },
			[]string{"spec.containers[0].restartPolicy: Forbidden"}},
		{"env fieldRef", func(p *v1.Pod) {
			p.Spec.Containers[0].Env = []v1.EnvVar{{Name: "X", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "spec.bogus"}}}}
		}, []string{`spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Invalid value: "spec.bogus"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "mypod"},
				Spec: v1.PodSpec{Containers: []v1.Container{{Name: "app", Image: "busybox:1.36"}}}}
			setDefaults(p, "uid", time.Now(), "node")
			tc.mutate(p)
			errs := validatePod(p)
			msg := invalid(p.Name, errs).Error()
			if len(tc.want) == 0 {
				if len(errs) != 0 {
					t.Fatalf("unexpected errors: %v", errs)
				}
				return
			}
			if len(errs) != len(tc.want) {
				t.Errorf("got %d errors, want %d: %s", len(errs), len(tc.want), msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("missing %q in %s", w, msg)
				}
			}
			if !strings.HasPrefix(msg, `Pod "`+p.Name+`" is invalid: `) {
				t.Errorf("message = %s", msg)
			}
		})
	}
}
