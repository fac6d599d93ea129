package pod

import (
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestValidateStopSignal(t *testing.T) {
	tests := []struct {
		name string
		os   v1.OSName // "" = spec.os unset
		sig  v1.Signal
		want string // substring of the error, "" = valid
	}{
		{"linux USR1", v1.Linux, "SIGUSR1", ""},
		{"linux realtime", v1.Linux, "SIGRTMIN+3", ""},
		{"linux realtime max", v1.Linux, "SIGRTMAX-14", ""},
		{"linux unknown", v1.Linux, "SIGFOO", `spec.containers[0].lifecycle.stopSignal: Unsupported value: "SIGFOO"`},
		{"no os", "", "SIGUSR1", "spec.containers[0].lifecycle.stopSignal: Forbidden: may not be set for containers with empty `spec.os.name`"},
		{"windows TERM", v1.Windows, "SIGTERM", ""},
		{"windows USR1", v1.Windows, "SIGUSR1", `Unsupported value: "SIGUSR1": supported values: "SIGKILL", "SIGTERM"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sig := tc.sig
			p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "mypod"},
				Spec: v1.PodSpec{Containers: []v1.Container{{Name: "app", Image: "busybox:1.36",
					Lifecycle: &v1.Lifecycle{StopSignal: &sig}}}}}
			if tc.os != "" {
				p.Spec.OS = &v1.PodOS{Name: tc.os}
			}
			setDefaults(p, "uid", time.Now(), "node")
			errs := validateStopSignal(&p.Spec.Containers[0], p.Spec.OS, field.NewPath("spec", "containers").Index(0))
			msg := invalid(p.Name, errs).Error()
			switch {
			case tc.want == "" && len(errs) != 0:
				t.Errorf("unexpected errors: %s", msg)
			case tc.want != "" && (len(errs) != 1 || !strings.Contains(msg, tc.want)):
				t.Errorf("got %s, want one error with %q", msg, tc.want)
			}
		})
	}
}
