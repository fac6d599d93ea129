package sandbox

import (
	"maps"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestPodHostname(t *testing.T) {
	long := strings.Repeat("a", 70)
	tests := []struct {
		name, hostname, want string
		wantErr              bool
	}{
		{name: "web", want: "web"},
		{name: "web", hostname: "db-0", want: "db-0"},
		{name: long, want: long[:63]},
		{name: strings.Repeat("a", 61) + "--b", want: strings.Repeat("a", 61)},
		{name: strings.Repeat("a", 60) + "-.-x", want: strings.Repeat("a", 60)},
		{name: strings.Repeat("a", 63), want: strings.Repeat("a", 63)},
		{name: strings.Repeat("-", 70), wantErr: true},
		{name: "", wantErr: true},
	}
	for _, tt := range tests {
		got, err := PodHostname(&v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: tt.name}, Spec: v1.PodSpec{Hostname: tt.hostname}})
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("PodHostname(%q, %q) = %q, %v; want %q", tt.name, tt.hostname, got, err, tt.want)
		}
	}
	if _, err := PodHostname(nil); err == nil {
		t.Error("nil pod: no error")
	}
}

func testPod(mut func(*v1.Pod)) *v1.Pod {
	p := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "uid-1"},
		Spec:       v1.PodSpec{Containers: []v1.Container{{Name: "app"}}},
	}
	if mut != nil {
		mut(p)
	}
	return p
}

func TestPodSysctls(t *testing.T) {
	tests := []struct {
		name             string
		sysctls          map[string]string
		hostNet, hostIPC bool
		want             map[string]string
		wantErr          string
	}{
		{name: "none"},
		{
			name:    "namespaced, both forms",
			sysctls: map[string]string{"net.ipv4.ip_local_port_range": "1024 65000", "kernel/shm_rmid_forced": "1", "kernel.sem": "250 32000 100 128", "fs.mqueue.msg_max": "20", "kernel.msgmax": "9000"},
			want:    map[string]string{"net.ipv4.ip_local_port_range": "1024 65000", "kernel.shm_rmid_forced": "1", "kernel.sem": "250 32000 100 128", "fs.mqueue.msg_max": "20", "kernel.msgmax": "9000"},
		},
		{name: "slash form with a dot in a name", sysctls: map[string]string{"net/ipv4/conf/eth0.100/rp_filter": "1"}, want: map[string]string{"net.ipv4.conf.eth0/100.rp_filter": "1"}},
		{name: "node-wide", sysctls: map[string]string{"vm.swappiness": "1"}, wantErr: "not namespaced"},
		{name: "net with hostNetwork", sysctls: map[string]string{"net.core.somaxconn": "1"}, hostNet: true, wantErr: "host net"},
		{name: "ipc with hostIPC", sysctls: map[string]string{"kernel.shmmax": "1"}, hostIPC: true, wantErr: "host ipc"},
		{name: "ipc with hostNetwork", sysctls: map[string]string{"kernel.shmmax": "1"}, hostNet: true, want: map[string]string{"kernel.shmmax": "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := testPod(func(p *v1.Pod) {
				p.Spec.HostNetwork, p.Spec.HostIPC = tt.hostNet, tt.hostIPC
				p.Spec.SecurityContext = &v1.PodSecurityContext{}
				for k, v := range tt.sysctls {
					p.Spec.SecurityContext.Sysctls = append(p.Spec.SecurityContext.Sysctls, v1.Sysctl{Name: k, Value: v})
				}
			})
			got, err := PodSysctls(pod)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) || !maps.Equal(got, tt.want) {
				t.Errorf("sysctls %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNormalizeSysctlName(t *testing.T) {
	for in, want := range map[string]string{
		"net.ipv4.ip_forward":              "net.ipv4.ip_forward",
		"net/ipv4/ip_forward":              "net.ipv4.ip_forward",
		"net/ipv4/conf/eth0.100/rp_filter": "net.ipv4.conf.eth0/100.rp_filter",
		"net.ipv4.conf.eth0/100.rp_filter": "net.ipv4.conf.eth0/100.rp_filter",
		"kernel":                           "kernel",
	} {
		if got := NormalizeSysctlName(in); got != want {
			t.Errorf("NormalizeSysctlName(%q) = %q, want %q", in, got, want)
		}
	}
}

func ptr[T any](v T) *T { return &v }
