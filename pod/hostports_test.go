package pod

import (
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

func TestHostPortConflicts(t *testing.T) {
	pod := func(name string, phase v1.PodPhase, ports ...v1.ContainerPort) *v1.Pod {
		p := &v1.Pod{}
		p.Name, p.Namespace, p.UID = name, "default", types.UID(name)
		p.Status.Phase = phase
		p.Spec.Containers = []v1.Container{{Name: "c", Ports: ports}}
		return p
	}
	tcp := func(port int32, ip string) v1.ContainerPort {
		return v1.ContainerPort{ContainerPort: 80, HostPort: port, HostIP: ip, Protocol: v1.ProtocolTCP}
	}
	udp := v1.ContainerPort{ContainerPort: 53, HostPort: 8080, Protocol: v1.ProtocolUDP}
	cases := []struct {
		name     string
		existing []*v1.Pod
		p        *v1.Pod
		want     string // "" = accepted
	}{
		{"no hostPort", []*v1.Pod{pod("a", v1.PodRunning, tcp(8080, ""))}, pod("b", v1.PodPending, v1.ContainerPort{ContainerPort: 80}), ""},
		{"same port", []*v1.Pod{pod("a", v1.PodRunning, tcp(8080, ""))}, pod("b", v1.PodPending, tcp(8080, "")), "already allocated to pod default/a"},
		{"wildcard against address", []*v1.Pod{pod("a", v1.PodPending, tcp(8080, "127.0.0.1"))}, pod("b", v1.PodPending, tcp(8080, "0.0.0.0")), "already allocated"},
		{"two addresses", []*v1.Pod{pod("a", v1.PodRunning, tcp(8080, "127.0.0.1"))}, pod("b", v1.PodPending, tcp(8080, "127.0.0.2")), ""},
		{"other protocol", []*v1.Pod{pod("a", v1.PodRunning, tcp(8080, ""))}, pod("b", v1.PodPending, udp), ""},
		{"other port", []*v1.Pod{pod("a", v1.PodRunning, tcp(8080, ""))}, pod("b", v1.PodPending, tcp(8081, "")), ""},
		{"finished pod", []*v1.Pod{pod("a", v1.PodSucceeded, tcp(8080, ""))}, pod("b", v1.PodPending, tcp(8080, "")), ""},
		{"failed pod", []*v1.Pod{pod("a", v1.PodFailed, tcp(8080, ""))}, pod("b", v1.PodPending, tcp(8080, "")), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := &Manager{pods: map[types.UID]*podEntry{}}
			for _, p := range tc.existing {
				m.pods[p.UID] = &podEntry{pod: p}
			}
			errs := m.hostPortConflictsLocked(tc.p)
			got := errs.ToAggregate()
			switch {
			case tc.want == "" && got != nil:
				t.Errorf("refused: %v", got)
			case tc.want != "" && (got == nil || !strings.Contains(got.Error(), tc.want)):
				t.Errorf("got %v, want an error with %q", got, tc.want)
			}
		})
	}
}
