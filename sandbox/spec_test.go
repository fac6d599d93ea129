package sandbox

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/runc/libcontainer/specconv"
	specs "github.com/opencontainers/runtime-spec/specs-go"
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

func pauseInput(pod *v1.Pod) *SpecInput {
	return &SpecInput{Pod: pod, Rootfs: "/run/podrun/sandboxes/sb1/rootfs", PauseBinary: "/usr/local/bin/podrun", CgroupsPath: "/podrun/poduid-1/sb1", OOMScoreAdjMin: -999}
}

func nsOf(s *specs.Spec) map[specs.LinuxNamespaceType]string {
	out := map[specs.LinuxNamespaceType]string{}
	for _, n := range s.Linux.Namespaces {
		out[n.Type] = n.Path
	}
	return out
}

func TestPauseSpec(t *testing.T) {
	s, err := PauseSpec(pauseInput(testPod(nil)))
	if err != nil {
		t.Fatal(err)
	}
	p := s.Process
	if !slices.Equal(p.Args, []string{"/pause", "pause"}) || p.Cwd != "/" || p.User.UID != 65535 || p.User.GID != 65535 || !p.NoNewPrivileges {
		t.Errorf("process %+v", p)
	}
	c := p.Capabilities
	if c == nil || len(c.Bounding)+len(c.Effective)+len(c.Permitted)+len(c.Inheritable)+len(c.Ambient) != 0 {
		t.Errorf("capabilities %+v", c)
	}
	if *p.OOMScoreAdj != -998 {
		t.Errorf("oom %d", *p.OOMScoreAdj)
	}
	if !s.Root.Readonly || s.Root.Path != "/run/podrun/sandboxes/sb1/rootfs" || s.Hostname != "web" || s.Linux.CgroupsPath != "/podrun/poduid-1/sb1" {
		t.Errorf("root %+v hostname %q cgroups %q", s.Root, s.Hostname, s.Linux.CgroupsPath)
	}
	// No /proc or /sys to mask; only the pause binary and an empty /dev (a bind mount: no
	// device nodes made).
	if s.Linux.MaskedPaths != nil || s.Linux.ReadonlyPaths != nil {
		t.Errorf("masked %v readonly %v", s.Linux.MaskedPaths, s.Linux.ReadonlyPaths)
	}
	if len(s.Mounts) != 2 {
		t.Fatalf("mounts %+v, want /dev and /pause only", s.Mounts)
	}
	dev, pause := s.Mounts[0], s.Mounts[1]
	if dev.Destination != "/dev" || dev.Type != "bind" || dev.Source != "/run/podrun/sandboxes/sb1/rootfs/dev" || !slices.Contains(dev.Options, "ro") || !slices.Contains(dev.Options, "noexec") {
		t.Errorf("/dev mount %+v", dev)
	}
	if pause.Destination != "/pause" || pause.Source != "/usr/local/bin/podrun" || !slices.Contains(pause.Options, "ro") || slices.Contains(pause.Options, "noexec") {
		t.Errorf("/pause mount %+v", pause)
	}
	if _, err := specconv.CreateLibcontainerConfig(&specconv.CreateOpts{Spec: s}); err != nil {
		t.Errorf("specconv: %v", err)
	}
}

func TestPauseSpecNamespacesAndHostname(t *testing.T) {
	all := map[specs.LinuxNamespaceType]string{specs.NetworkNamespace: "", specs.UTSNamespace: "", specs.IPCNamespace: "", specs.MountNamespace: ""}
	with := func(extra ...specs.LinuxNamespaceType) map[specs.LinuxNamespaceType]string {
		m := maps.Clone(all)
		for _, e := range extra {
			m[e] = ""
		}
		return m
	}
	tests := []struct {
		name     string
		mut      func(*v1.Pod)
		hostname string            // SpecInput.Hostname
		pinned   map[string]string // SpecInput.Pinned
		wantNS   map[specs.LinuxNamespaceType]string
		wantHost string
	}{
		{name: "default", wantNS: all, wantHost: "web"},
		{name: "spec.hostname", mut: func(p *v1.Pod) { p.Spec.Hostname = "db-0" }, wantNS: all, wantHost: "db-0"},
		{name: "explicit hostname wins", hostname: "given", wantNS: all, wantHost: "given"},
		{name: "shareProcessNamespace", mut: func(p *v1.Pod) { p.Spec.ShareProcessNamespace = ptr(true) }, wantNS: with(specs.PIDNamespace), wantHost: "web"},
		{name: "shareProcessNamespace with hostPID", mut: func(p *v1.Pod) { p.Spec.ShareProcessNamespace, p.Spec.HostPID = ptr(true), true }, wantNS: all, wantHost: "web"},
		{name: "hostNetwork: host net and uts, no hostname", mut: func(p *v1.Pod) { p.Spec.HostNetwork = true },
			wantNS: map[specs.LinuxNamespaceType]string{specs.IPCNamespace: "", specs.MountNamespace: ""}},
		{name: "network namespace made by the caller: joined", pinned: map[string]string{"net": "/run/podrun/netns/x"},
			wantNS: map[specs.LinuxNamespaceType]string{specs.NetworkNamespace: "/run/podrun/netns/x", specs.UTSNamespace: "", specs.IPCNamespace: "", specs.MountNamespace: ""}, wantHost: "web"},
		{name: "net, ipc and uts made by the caller: joined, hostname set by the caller", pinned: map[string]string{"net": "/n", "ipc": "/i", "uts": "/u"},
			wantNS: map[specs.LinuxNamespaceType]string{specs.NetworkNamespace: "/n", specs.UTSNamespace: "/u", specs.IPCNamespace: "/i", specs.MountNamespace: ""}},
		{name: "shareProcessNamespace with pinned namespaces: a new pid namespace", mut: func(p *v1.Pod) { p.Spec.ShareProcessNamespace = ptr(true) }, pinned: map[string]string{"net": "/n", "ipc": "/i", "uts": "/u"},
			wantNS: map[specs.LinuxNamespaceType]string{specs.NetworkNamespace: "/n", specs.UTSNamespace: "/u", specs.IPCNamespace: "/i", specs.PIDNamespace: "", specs.MountNamespace: ""}},
		{name: "hostNetwork ignores pinned net and uts", pinned: map[string]string{"net": "/n", "uts": "/u", "ipc": "/i"}, mut: func(p *v1.Pod) { p.Spec.HostNetwork = true },
			wantNS: map[specs.LinuxNamespaceType]string{specs.IPCNamespace: "/i", specs.MountNamespace: ""}},
		{name: "hostIPC", mut: func(p *v1.Pod) { p.Spec.HostIPC = true },
			wantNS: map[specs.LinuxNamespaceType]string{specs.NetworkNamespace: "", specs.UTSNamespace: "", specs.MountNamespace: ""}, wantHost: "web"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := pauseInput(testPod(tt.mut))
			in.Hostname, in.Pinned = tt.hostname, tt.pinned
			s, err := PauseSpec(in)
			if err != nil {
				t.Fatal(err)
			}
			if got := nsOf(s); !maps.Equal(got, tt.wantNS) {
				t.Errorf("namespaces %v, want %v", got, tt.wantNS)
			}
			if s.Hostname != tt.wantHost {
				t.Errorf("hostname %q, want %q", s.Hostname, tt.wantHost)
			}
			if _, err := specconv.CreateLibcontainerConfig(&specconv.CreateOpts{Spec: s}); err != nil {
				t.Errorf("specconv: %v", err)
			}
		})
	}
}

func TestPauseSpecSysctls(t *testing.T) {
	tests := []struct {
		name             string
		sysctls          map[string]string
		hostNet, hostIPC bool
		pinned           map[string]string // SpecInput.Pinned
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
		{name: "those of pinned namespaces are the pinner's", sysctls: map[string]string{"net.core.somaxconn": "1", "kernel.shmmax": "1"},
			pinned: map[string]string{"net": "/n"}, want: map[string]string{"kernel.shmmax": "1"}},
		{name: "all pinned: none left", sysctls: map[string]string{"net.core.somaxconn": "1", "kernel.shmmax": "1"},
			pinned: map[string]string{"net": "/n", "ipc": "/i"}},
		{name: "pinned or not, a node-wide one is an error", sysctls: map[string]string{"vm.swappiness": "1"},
			pinned: map[string]string{"net": "/n", "ipc": "/i"}, wantErr: "not namespaced"},
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
			in := pauseInput(pod)
			in.Pinned = tt.pinned
			s, err := PauseSpec(in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(s.Linux.Sysctl, tt.want) {
				t.Errorf("sysctl %v, want %v", s.Linux.Sysctl, tt.want)
			}
		})
	}
}

func TestPauseSpecOOMAndInputErrors(t *testing.T) {
	for _, tt := range []struct{ min, want int }{{-999, -998}, {-998, -998}, {-500, -500}, {0, 0}} {
		in := pauseInput(testPod(nil))
		in.OOMScoreAdjMin = tt.min
		s, err := PauseSpec(in)
		if err != nil || *s.Process.OOMScoreAdj != tt.want {
			t.Errorf("min %d: oom %v err %v, want %d", tt.min, s.Process.OOMScoreAdj, err, tt.want)
		}
	}
	for name, in := range map[string]*SpecInput{
		"nil":             nil,
		"no pod":          {Rootfs: "/r", PauseBinary: "/p"},
		"relative rootfs": {Pod: testPod(nil), Rootfs: "r", PauseBinary: "/p"},
		"no binary":       {Pod: testPod(nil), Rootfs: "/r"},
		"no name":         {Pod: &v1.Pod{}, Rootfs: "/r", PauseBinary: "/p"},
	} {
		if _, err := PauseSpec(in); err == nil {
			t.Errorf("%s: no error", name)
		}
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
