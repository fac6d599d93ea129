package runtime

import (
	"maps"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	v1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/cri"
)

func TestWithNamespaces(t *testing.T) {
	pinned := map[string]string{"net": "/n/net", "ipc": "/n/ipc", "uts": "/n/uts", "pid": "/n/pid"}
	tests := []struct {
		name    string
		ns      map[string]string
		spec    v1.PodSpec
		want    map[specs.LinuxNamespaceType]string
		wantErr bool
	}{
		{
			name: "default: join net/ipc/uts, own pid and mount",
			ns:   map[string]string{"net": "/n/net", "ipc": "/n/ipc", "uts": "/n/uts"},
			want: map[specs.LinuxNamespaceType]string{specs.NetworkNamespace: "/n/net", specs.IPCNamespace: "/n/ipc", specs.UTSNamespace: "/n/uts", specs.PIDNamespace: "", specs.MountNamespace: ""},
		},
		{
			name: "shareProcessNamespace joins the pause's pid",
			ns:   pinned,
			spec: v1.PodSpec{ShareProcessNamespace: ptr(true)},
			want: map[specs.LinuxNamespaceType]string{specs.NetworkNamespace: "/n/net", specs.IPCNamespace: "/n/ipc", specs.UTSNamespace: "/n/uts", specs.PIDNamespace: "/n/pid", specs.MountNamespace: ""},
		},
		{
			name:    "shareProcessNamespace without a pinned pid",
			ns:      map[string]string{"net": "/n/net"},
			spec:    v1.PodSpec{ShareProcessNamespace: ptr(true)},
			wantErr: true,
		},
		{
			name: "hostNetwork, hostIPC, hostPID: host namespaces are absent",
			ns:   map[string]string{},
			spec: v1.PodSpec{HostNetwork: true, HostIPC: true, HostPID: true},
			want: map[specs.LinuxNamespaceType]string{specs.MountNamespace: ""},
		},
		{
			name: "hostPID wins over shareProcessNamespace",
			ns:   map[string]string{"net": "/n/net"},
			spec: v1.PodSpec{HostPID: true, ShareProcessNamespace: ptr(true)},
			want: map[specs.LinuxNamespaceType]string{specs.NetworkNamespace: "/n/net", specs.MountNamespace: ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := testInput(t, func(in *SpecInput) {
				in.Sandbox.Namespaces = tt.ns
				in.Config.Pod.Spec.HostNetwork, in.Config.Pod.Spec.HostIPC, in.Config.Pod.Spec.HostPID = tt.spec.HostNetwork, tt.spec.HostIPC, tt.spec.HostPID
				in.Config.Pod.Spec.ShareProcessNamespace = tt.spec.ShareProcessNamespace
			})
			s := newBaseSpec(in)
			s.Hostname = "stale"
			err := WithNamespaces(s, in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if tt.wantErr {
				return
			}
			if got := nsTypes(s); !maps.Equal(got, tt.want) || len(s.Linux.Namespaces) != len(tt.want) {
				t.Errorf("namespaces %v, want %v", s.Linux.Namespaces, tt.want)
			}
			if s.Hostname != "" {
				t.Errorf("hostname %q set on an app container", s.Hostname)
			}
		})
	}
}

func TestWithMounts(t *testing.T) {
	type want struct {
		src, typ string
		opts     []string // each must be present
	}
	tests := []struct {
		name   string
		mut    []func(*SpecInput)
		want   map[string]want // destination → expectation
		absent []string
		order  []string // destinations that must appear in this relative order
	}{
		{
			name: "default",
			want: map[string]want{
				"/proc":                {"proc", "proc", nil},
				"/dev":                 {"tmpfs", "tmpfs", nil},
				"/dev/pts":             {"devpts", "devpts", nil},
				"/dev/mqueue":          {"mqueue", "mqueue", nil},
				"/sys":                 {"sysfs", "sysfs", []string{"rw"}}, // read-only per mount: ReadonlyPaths
				"/sys/fs/cgroup":       {"cgroup", "cgroup", []string{"ro"}},
				"/dev/shm":             {"/run/podrun/sandboxes/sb1/shm", "bind", []string{"rbind", "rw"}},
				"/etc/hosts":           {"/run/podrun/sandboxes/sb1/hosts", "bind", []string{"rbind", "rprivate", "rw"}},
				"/etc/hostname":        {"/run/podrun/sandboxes/sb1/hostname", "bind", []string{"rw"}},
				"/etc/resolv.conf":     {"/run/podrun/sandboxes/sb1/resolv.conf", "bind", []string{"rw"}},
				"/dev/termination-log": {"/var/lib/podrun/pods/uid-1/containers/app/termination-log", "bind", []string{"rw"}},
			},
			order: []string{"/proc", "/dev", "/sys", "/dev/shm", "/etc/hosts"},
		},
		{
			name: "hostIPC: private /dev/shm; no sandbox files, no termination file",
			mut: []func(*SpecInput){func(in *SpecInput) {
				in.Sandbox.ShmPath, in.Sandbox.HostsPath, in.Sandbox.HostnamePath, in.Sandbox.ResolvConfPath = "", "", "", ""
				in.Config.TerminationMessageHostPath = ""
			}},
			want:   map[string]want{"/dev/shm": {"shm", "tmpfs", []string{"mode=1777"}}},
			absent: []string{"/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/dev/termination-log"},
		},
		{
			name: "readOnlyRootFilesystem makes the /etc files read-only",
			mut:  []func(*SpecInput){csc(func(sc *v1.SecurityContext) { sc.ReadOnlyRootFilesystem = ptr(true) })},
			want: map[string]want{
				"/etc/hosts":           {"/run/podrun/sandboxes/sb1/hosts", "bind", []string{"ro"}},
				"/etc/resolv.conf":     {"/run/podrun/sandboxes/sb1/resolv.conf", "bind", []string{"ro"}},
				"/dev/termination-log": {"/var/lib/podrun/pods/uid-1/containers/app/termination-log", "bind", []string{"rw"}},
			},
		},
		{
			name: "privileged: rw /sys",
			mut:  []func(*SpecInput){csc(func(sc *v1.SecurityContext) { sc.Privileged = ptr(true) })},
			want: map[string]want{"/sys": {"sysfs", "sysfs", []string{"rw"}}, "/sys/fs/cgroup": {"cgroup", "cgroup", []string{"rw"}}},
		},
		{
			name: "volumes sorted parents first, replacing sandbox mounts at the same path",
			mut: []func(*SpecInput){func(in *SpecInput) {
				in.Config.Mounts = []cri.Mount{
					{HostPath: "/h/deep", ContainerPath: "/data/a/b"},
					{HostPath: "/h/data", ContainerPath: "/data/", ReadOnly: true},
					{HostPath: "/h/a", ContainerPath: "/data/a", Propagation: "rslave"},
					{HostPath: "/h/resolv", ContainerPath: "/etc/resolv.conf"},
					{HostPath: "/h/shm", ContainerPath: "/dev/shm"},
				}
			}},
			want: map[string]want{
				"/data":            {"/h/data", "bind", []string{"rbind", "rprivate", "ro"}},
				"/data/a":          {"/h/a", "bind", []string{"rslave", "rw"}},
				"/data/a/b":        {"/h/deep", "bind", []string{"rw"}},
				"/etc/resolv.conf": {"/h/resolv", "bind", nil},
				"/dev/shm":         {"/h/shm", "bind", nil},
			},
			order: []string{"/data", "/data/a", "/data/a/b"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := applyOpt(t, WithMounts, testInput(t, tt.mut...))
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]int{}
			for _, m := range s.Mounts {
				seen[m.Destination]++
				if seen[m.Destination] > 1 {
					t.Errorf("%s mounted twice", m.Destination)
				}
			}
			for dst, w := range tt.want {
				m, ok := hasMount(s, dst)
				if !ok {
					t.Errorf("no mount at %s", dst)
					continue
				}
				if m.Source != w.src || m.Type != w.typ {
					t.Errorf("%s: source %q type %q, want %q %q", dst, m.Source, m.Type, w.src, w.typ)
				}
				for _, o := range w.opts {
					if !slices.Contains(m.Options, o) {
						t.Errorf("%s: options %v lack %q", dst, m.Options, o)
					}
				}
			}
			for _, dst := range tt.absent {
				if _, ok := hasMount(s, dst); ok {
					t.Errorf("unexpected mount at %s", dst)
				}
			}
			last := -1
			for _, dst := range tt.order {
				i := slices.IndexFunc(s.Mounts, func(m specs.Mount) bool { return m.Destination == dst })
				if i < last {
					t.Errorf("%s mounted before its parent: %v", dst, s.Mounts)
				}
				last = i
			}
		})
	}
}

func TestWithMountsPropagation(t *testing.T) {
	tests := []struct {
		props    []string
		wantRoot string
		wantErr  bool
	}{
		{[]string{""}, "", false},
		{[]string{"rslave"}, "rslave", false},
		{[]string{"HostToContainer", "Bidirectional"}, "rshared", false},
		{[]string{"rshared", "rslave"}, "rshared", false},
		{[]string{"sideways"}, "", true},
	}
	for _, tt := range tests {
		in := testInput(t, func(in *SpecInput) {
			for i, p := range tt.props {
				in.Config.Mounts = append(in.Config.Mounts, cri.Mount{HostPath: "/h", ContainerPath: "/m" + string(rune('a'+i)), Propagation: p})
			}
		})
		s, err := applyOpt(t, WithMounts, in)
		if (err != nil) != tt.wantErr {
			t.Errorf("%v: err %v", tt.props, err)
			continue
		}
		if !tt.wantErr && s.Linux.RootfsPropagation != tt.wantRoot {
			t.Errorf("%v: rootfs propagation %q, want %q", tt.props, s.Linux.RootfsPropagation, tt.wantRoot)
		}
	}
	if _, err := applyOpt(t, WithMounts, testInput(t, func(in *SpecInput) {
		in.Config.Mounts = []cri.Mount{{HostPath: "/h", ContainerPath: "relative"}}
	})); err == nil {
		t.Error("relative container path: no error")
	}
}
