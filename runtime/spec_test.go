package runtime

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/opencontainers/runc/libcontainer/specconv"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podrun/podrun/cri"
)

const (
	testPasswd = "root:x:0:0:root:/root:/bin/sh\n" +
		"# a comment\n" +
		"daemon:x:1:1::/:/sbin/nologin\n" +
		"broken:x:notanumber:1::/:/bin/sh\n" +
		"app:x:1000:1000::/home/app:/bin/sh\n" +
		"nobody:x:65534:65534::/:/bin/false\n"
	testGroup = "root:x:0:\n" +
		"wheel:x:10:root,app\n" +
		"audio:x:29:app\n" +
		"app:x:1000:\n" +
		"staff:x:50:daemon\n" +
		"nogroup:x:65534:\n"
)

// fakeRootfs is an image root with /etc/passwd and /etc/group (none when both are "").
func fakeRootfs(t *testing.T, passwd, group string) string {
	t.Helper()
	root := t.TempDir()
	if passwd == "" && group == "" {
		return root
	}
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{"passwd": passwd, "group": group} {
		if err := os.WriteFile(filepath.Join(root, "etc", name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// testInput is a default container "app" of pod default/web with a busybox-like image, joined to
// a sandbox with pinned net/ipc/uts namespaces and all its files. mutate adjusts it per case.
func testInput(t *testing.T, mutate ...func(*SpecInput)) *SpecInput {
	t.Helper()
	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "uid-1"},
		Spec:       v1.PodSpec{Containers: []v1.Container{{Name: "app", Image: "busybox"}}},
	}
	in := &SpecInput{
		Config: &cri.ContainerConfig{
			Pod:       pod,
			Container: &pod.Spec.Containers[0],
			Image: &cri.Image{ID: "sha256:abc", Config: cri.ImageConfig{
				Cmd: []string{"sh"},
				Env: []string{"PATH=/bin:/usr/bin", "IMG=1"},
			}},
			TerminationMessageHostPath: "/var/lib/podrun/pods/uid-1/containers/app/termination-log",
		},
		Sandbox: &cri.SandboxStatus{
			ID:     "sb1",
			PodUID: "uid-1",
			Namespaces: map[string]string{
				"net": "/run/podrun/netns/sb1",
				"ipc": "/run/podrun/ns/sb1/ipc",
				"uts": "/run/podrun/ns/sb1/uts",
			},
			Hostname:       "web",
			HostsPath:      "/run/podrun/sandboxes/sb1/hosts",
			HostnamePath:   "/run/podrun/sandboxes/sb1/hostname",
			ResolvConfPath: "/run/podrun/sandboxes/sb1/resolv.conf",
			ShmPath:        "/run/podrun/sandboxes/sb1/shm",
		},
		Rootfs:         fakeRootfs(t, testPasswd, testGroup),
		CgroupsPath:    "/podrun/poduid-1/c1",
		MemoryCapacity: 8 << 30,
	}
	in.Config.Container.TerminationMessagePath = "/dev/termination-log"
	for _, m := range mutate {
		m(in)
	}
	return in
}

// applyOpt runs one option on a fresh base spec.
func applyOpt(t *testing.T, opt SpecOpt, in *SpecInput) (*specs.Spec, error) {
	t.Helper()
	s := newBaseSpec(in)
	return s, opt(s, in)
}

func ptr[T any](v T) *T { return &v }

func csc(mut func(*v1.SecurityContext)) func(*SpecInput) {
	return func(in *SpecInput) {
		if in.Config.Container.SecurityContext == nil {
			in.Config.Container.SecurityContext = &v1.SecurityContext{}
		}
		mut(in.Config.Container.SecurityContext)
	}
}

func psc(mut func(*v1.PodSecurityContext)) func(*SpecInput) {
	return func(in *SpecInput) {
		if in.Config.Pod.Spec.SecurityContext == nil {
			in.Config.Pod.Spec.SecurityContext = &v1.PodSecurityContext{}
		}
		mut(in.Config.Pod.Spec.SecurityContext)
	}
}

func resources(limits, requests map[v1.ResourceName]string) func(*SpecInput) {
	return func(in *SpecInput) {
		rl := func(m map[v1.ResourceName]string) v1.ResourceList {
			if m == nil {
				return nil
			}
			out := v1.ResourceList{}
			for k, v := range m {
				out[k] = resource.MustParse(v)
			}
			return out
		}
		in.Config.Container.Resources = v1.ResourceRequirements{Limits: rl(limits), Requests: rl(requests)}
	}
}

func hasMount(s *specs.Spec, dst string) (specs.Mount, bool) {
	for _, m := range s.Mounts {
		if m.Destination == dst {
			return m, true
		}
	}
	return specs.Mount{}, false
}

func nsTypes(s *specs.Spec) map[specs.LinuxNamespaceType]string {
	out := map[specs.LinuxNamespaceType]string{}
	for _, n := range s.Linux.Namespaces {
		out[n.Type] = n.Path
	}
	return out
}

func TestBuildContainerSpecInputErrors(t *testing.T) {
	for name, in := range map[string]*SpecInput{
		"nil":        nil,
		"no config":  {Sandbox: &cri.SandboxStatus{}, Rootfs: "/r"},
		"no sandbox": {Config: &cri.ContainerConfig{Pod: &v1.Pod{}, Container: &v1.Container{}}, Rootfs: "/r"},
		"no rootfs":  {Config: &cri.ContainerConfig{Pod: &v1.Pod{}, Container: &v1.Container{}}, Sandbox: &cri.SandboxStatus{}},
	} {
		if _, err := BuildContainerSpec(in); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestBuildContainerSpec checks the composed spec of representative pods.
func TestBuildContainerSpec(t *testing.T) {
	tests := []struct {
		name  string
		mut   []func(*SpecInput)
		check func(t *testing.T, s *specs.Spec)
	}{
		{
			name: "default container",
			check: func(t *testing.T, s *specs.Spec) {
				p := s.Process
				if !slices.Equal(p.Args, []string{"sh"}) || p.Cwd != "/" || p.User.UID != 0 || p.Terminal {
					t.Errorf("process = %+v", p)
				}
				if !slices.Equal(p.Capabilities.Bounding, DefaultCapabilities) || p.NoNewPrivileges {
					t.Errorf("caps %v nnp %v", p.Capabilities.Bounding, p.NoNewPrivileges)
				}
				if s.Linux.Seccomp != nil || s.Root.Readonly || len(s.Linux.MaskedPaths) == 0 {
					t.Errorf("seccomp %v readonly %v masked %v", s.Linux.Seccomp != nil, s.Root.Readonly, s.Linux.MaskedPaths)
				}
				if *p.OOMScoreAdj != 1000 || *s.Linux.Resources.CPU.Shares != 2 {
					t.Errorf("oom %d shares %d", *p.OOMScoreAdj, *s.Linux.Resources.CPU.Shares)
				}
				if s.Linux.CgroupsPath != "/podrun/poduid-1/c1" || s.Annotations[AnnotationPodName] != "web" || s.Hostname != "" {
					t.Errorf("cgroups %q annotations %v hostname %q", s.Linux.CgroupsPath, s.Annotations, s.Hostname)
				}
				if _, ok := hasMount(s, "/etc/hosts"); !ok {
					t.Error("no /etc/hosts")
				}
				if ns := nsTypes(s); ns[specs.NetworkNamespace] == "" || ns[specs.PIDNamespace] != "" {
					t.Errorf("namespaces %v", ns)
				}
			},
		},
		{
			name: "securityContext-heavy",
			mut: []func(*SpecInput){
				psc(func(sc *v1.PodSecurityContext) {
					sc.RunAsUser, sc.RunAsGroup, sc.FSGroup = ptr(int64(1000)), ptr(int64(3000)), ptr(int64(2000))
					sc.SupplementalGroups = []int64{4000}
					sc.SeccompProfile = &v1.SeccompProfile{Type: v1.SeccompProfileTypeRuntimeDefault}
					sc.RunAsNonRoot = ptr(true)
				}),
				csc(func(sc *v1.SecurityContext) {
					sc.AllowPrivilegeEscalation = ptr(false)
					sc.ReadOnlyRootFilesystem = ptr(true)
					sc.Capabilities = &v1.Capabilities{Drop: []v1.Capability{"ALL"}, Add: []v1.Capability{"NET_BIND_SERVICE"}}
				}),
				resources(map[v1.ResourceName]string{"cpu": "500m", "memory": "256Mi"}, map[v1.ResourceName]string{"cpu": "250m", "memory": "128Mi"}),
			},
			check: func(t *testing.T, s *specs.Spec) {
				p := s.Process
				if p.User.UID != 1000 || p.User.GID != 3000 || !slices.Equal(p.User.AdditionalGids, []uint32{10, 29, 2000, 3000, 4000}) {
					t.Errorf("user %+v", p.User)
				}
				if !slices.Equal(p.Capabilities.Bounding, []string{"CAP_NET_BIND_SERVICE"}) || !p.NoNewPrivileges || !s.Root.Readonly {
					t.Errorf("caps %v nnp %v ro %v", p.Capabilities.Bounding, p.NoNewPrivileges, s.Root.Readonly)
				}
				if s.Linux.Seccomp == nil {
					t.Error("no seccomp")
				}
				r := s.Linux.Resources
				if *r.CPU.Shares != 256 || *r.CPU.Quota != 50000 || *r.Memory.Limit != 256<<20 {
					t.Errorf("resources %+v %+v", r.CPU, r.Memory)
				}
				if m, _ := hasMount(s, "/etc/resolv.conf"); !slices.Contains(m.Options, "ro") {
					t.Errorf("resolv.conf not ro with readOnlyRootFilesystem: %v", m.Options)
				}
			},
		},
		{
			name: "privileged",
			mut: []func(*SpecInput){
				csc(func(sc *v1.SecurityContext) {
					sc.Privileged = ptr(true)
					sc.SeccompProfile = &v1.SeccompProfile{Type: v1.SeccompProfileTypeRuntimeDefault}
				}),
				func(in *SpecInput) { in.SeccompDefault = true },
			},
			check: func(t *testing.T, s *specs.Spec) {
				if len(s.Process.Capabilities.Bounding) != 41 || s.Linux.Seccomp != nil || s.Linux.MaskedPaths != nil || s.Linux.ReadonlyPaths != nil {
					t.Errorf("caps %d seccomp %v masked %v", len(s.Process.Capabilities.Bounding), s.Linux.Seccomp != nil, s.Linux.MaskedPaths)
				}
				if s.Annotations[PrivilegedAnnotation] != "true" || !s.Linux.Resources.Devices[0].Allow {
					t.Errorf("annotations %v devices %v", s.Annotations, s.Linux.Resources.Devices)
				}
				if m, _ := hasMount(s, "/sys"); !slices.Contains(m.Options, "rw") {
					t.Errorf("/sys %v", m.Options)
				}
			},
		},
		{
			name: "shareProcessNamespace",
			mut: []func(*SpecInput){func(in *SpecInput) {
				in.Config.Pod.Spec.ShareProcessNamespace = ptr(true)
				in.Sandbox.Namespaces["pid"] = "/run/podrun/ns/sb1/pid"
				in.Config.Container.Command = []string{"/bin/echo"}
				in.Config.Container.Args = []string{"$(GREETING) $(HOSTNAME)"}
				in.Config.Container.Env = []v1.EnvVar{{Name: "GREETING", Value: "hi"}}
			}},
			check: func(t *testing.T, s *specs.Spec) {
				if ns := nsTypes(s); ns[specs.PIDNamespace] != "/run/podrun/ns/sb1/pid" {
					t.Errorf("pid ns %v", ns)
				}
				if !slices.Equal(s.Process.Args, []string{"/bin/echo", "hi $(HOSTNAME)"}) {
					t.Errorf("args %q", s.Process.Args)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := BuildContainerSpec(testInput(t, tt.mut...))
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, s)
		})
	}
}

func TestBuildContainerSpecConfigError(t *testing.T) {
	in := testInput(t, psc(func(sc *v1.PodSecurityContext) { sc.RunAsNonRoot = ptr(true) }))
	_, err := BuildContainerSpec(in)
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Reason != "CreateContainerConfigError" {
		t.Fatalf("err = %v", err)
	}
	want := `container has runAsNonRoot and image will run as root (pod: "web_default(uid-1)", container: app)`
	if err.Error() != want {
		t.Errorf("message\n got %s\nwant %s", err, want)
	}
}

// TestSpecConvertible proves libcontainer accepts what BuildContainerSpec makes.
func TestSpecConvertible(t *testing.T) {
	for name, mut := range map[string][]func(*SpecInput){
		"default": nil,
		"restricted": {csc(func(sc *v1.SecurityContext) {
			sc.RunAsUser, sc.AllowPrivilegeEscalation = ptr(int64(1000)), ptr(false)
			sc.SeccompProfile = &v1.SeccompProfile{Type: v1.SeccompProfileTypeRuntimeDefault}
			sc.Capabilities = &v1.Capabilities{Drop: []v1.Capability{"ALL"}}
		}), resources(map[v1.ResourceName]string{"cpu": "1", "memory": "64Mi"}, nil)},
		"privileged": {csc(func(sc *v1.SecurityContext) { sc.Privileged = ptr(true) })},
		"host namespaces": {func(in *SpecInput) {
			in.Config.Pod.Spec.HostNetwork, in.Config.Pod.Spec.HostPID = true, true
			in.Sandbox.Namespaces = map[string]string{"ipc": "/run/podrun/ns/sb1/ipc"}
		}},
	} {
		t.Run(name, func(t *testing.T) {
			s, err := BuildContainerSpec(testInput(t, mut...))
			if err != nil {
				t.Fatal(err)
			}
			_, err = specconv.CreateLibcontainerConfig(&specconv.CreateOpts{
				CgroupName: "", UseSystemdCgroup: false, NoPivotRoot: false, Spec: s, RootlessEUID: false,
			})
			if err != nil {
				t.Fatalf("specconv: %v", err)
			}
		})
	}
}
