package runtime

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	v1 "k8s.io/api/core/v1"
)

func TestWithUser(t *testing.T) {
	strict, merge := v1.SupplementalGroupsPolicyStrict, v1.SupplementalGroupsPolicyMerge
	tests := []struct {
		name      string
		imageUser string
		noDB      bool
		mut       []func(*SpecInput)
		want      specs.User
		wantErr   string // substring; "" = no error
	}{
		{name: "image without USER is root", want: specs.User{UID: 0, GID: 0, AdditionalGids: []uint32{0, 10}}},
		{name: "numeric uid found in passwd", imageUser: "1000", want: specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{10, 29, 1000}}},
		{name: "numeric uid unknown: gid 0", imageUser: "4242", want: specs.User{UID: 4242, GID: 0, AdditionalGids: []uint32{0}}},
		{name: "uid:gid", imageUser: "1000:50", want: specs.User{UID: 1000, GID: 50, AdditionalGids: []uint32{10, 29, 50}}},
		{name: "name", imageUser: "app", want: specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{10, 29, 1000}}},
		{name: "name:group", imageUser: "app:staff", want: specs.User{UID: 1000, GID: 50, AdditionalGids: []uint32{10, 29, 50}}},
		{name: "daemon in staff by membership", imageUser: "daemon", want: specs.User{UID: 1, GID: 1, AdditionalGids: []uint32{1, 50}}},
		{name: "unknown name", imageUser: "ghost", wantErr: "unable to find user ghost"},
		{name: "unknown group", imageUser: "app:ghosts", wantErr: "unable to find group ghosts"},
		{name: "no passwd file: numeric works", imageUser: "1000:1000", noDB: true, want: specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{1000}}},
		{name: "no passwd file: name fails", imageUser: "app", noDB: true, wantErr: "unable to find user app"},
		{
			name: "runAsUser replaces the image user and its group", imageUser: "app:staff",
			mut:  []func(*SpecInput){psc(func(sc *v1.PodSecurityContext) { sc.RunAsUser = ptr(int64(1)) })},
			want: specs.User{UID: 1, GID: 1, AdditionalGids: []uint32{1, 50}},
		},
		{
			name: "runAsGroup keeps the image user", imageUser: "app",
			mut:  []func(*SpecInput){psc(func(sc *v1.PodSecurityContext) { sc.RunAsGroup = ptr(int64(7)) })},
			want: specs.User{UID: 1000, GID: 7, AdditionalGids: []uint32{7, 10, 29}},
		},
		{
			name: "container overrides pod",
			mut: []func(*SpecInput){
				psc(func(sc *v1.PodSecurityContext) { sc.RunAsUser, sc.RunAsGroup = ptr(int64(5)), ptr(int64(5)) }),
				csc(func(sc *v1.SecurityContext) { sc.RunAsUser, sc.RunAsGroup = ptr(int64(1000)), ptr(int64(3000)) }),
			},
			want: specs.User{UID: 1000, GID: 3000, AdditionalGids: []uint32{10, 29, 3000}},
		},
		{
			name: "fsGroup and supplementalGroups merged, deduplicated",
			mut: []func(*SpecInput){psc(func(sc *v1.PodSecurityContext) {
				sc.RunAsUser, sc.FSGroup, sc.SupplementalGroups = ptr(int64(1000)), ptr(int64(2000)), []int64{4000, 29, 2000}
				sc.SupplementalGroupsPolicy = &merge
			})},
			want: specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{10, 29, 1000, 2000, 4000}},
		},
		{
			name: "Strict ignores /etc/group",
			mut: []func(*SpecInput){psc(func(sc *v1.PodSecurityContext) {
				sc.RunAsUser, sc.FSGroup, sc.SupplementalGroups = ptr(int64(1000)), ptr(int64(2000)), []int64{4000}
				sc.SupplementalGroupsPolicy = &strict
			})},
			want: specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{1000, 2000, 4000}},
		},
		{
			name:    "out of range runAsUser",
			mut:     []func(*SpecInput){csc(func(sc *v1.SecurityContext) { sc.RunAsUser = ptr(int64(-1)) })},
			wantErr: "out of range",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := testInput(t, tt.mut...)
			in.Config.Image.Config.User = tt.imageUser
			if tt.noDB {
				in.Rootfs = fakeRootfs(t, "", "")
			}
			s, err := applyOpt(t, WithUser, in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				var ce *ConfigError
				if strings.HasPrefix(tt.wantErr, "unable to find") && (!errors.As(err, &ce) || ce.ConfigReason() != ReasonCreateContainerError) {
					t.Errorf("err = %#v, want a ConfigError with reason CreateContainerError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := s.Process.User
			if got.UID != tt.want.UID || got.GID != tt.want.GID || !slices.Equal(got.AdditionalGids, tt.want.AdditionalGids) {
				t.Errorf("user = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestRunAsNonRoot(t *testing.T) {
	pod := `(pod: "web_default(uid-1)", container: app)`
	tests := []struct {
		name       string
		imageUser  string
		podUser    *int64
		ctrUser    *int64
		ctrNonRoot *bool
		passwd     bool   // the image has an /etc/passwd with app (1000) and toor (0)
		want       string // "" = allowed
	}{
		{name: "image root (no USER)", want: "container has runAsNonRoot and image will run as root " + pod},
		{name: "image uid 0", imageUser: "0:0", want: "container has runAsNonRoot and image will run as root " + pod},
		{name: "image numeric non-root", imageUser: "1000"},
		{name: "image named user not in passwd", imageUser: "ghost", want: "container has runAsNonRoot and image has non-numeric user (ghost), cannot verify user is non-root " + pod},
		{name: "image named user:group not in passwd", imageUser: "ghost:staff", want: "container has runAsNonRoot and image has non-numeric user (ghost), cannot verify user is non-root " + pod},
		{name: "image named user resolved non-root", imageUser: "app", passwd: true},
		{name: "image named user:group resolved non-root", imageUser: "app:staff", passwd: true},
		{name: "image named user resolved to root", imageUser: "toor", passwd: true, want: "container has runAsNonRoot and image will run as root " + pod},
		{name: "runAsUser non-root wins over named image user", imageUser: "app", podUser: ptr(int64(1000))},
		{name: "runAsUser 0", imageUser: "1000", ctrUser: ptr(int64(0)), want: "container's runAsUser breaks non-root policy " + pod},
		{name: "container runAsNonRoot false overrides pod", ctrNonRoot: ptr(false)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := testInput(t,
				psc(func(sc *v1.PodSecurityContext) { sc.RunAsNonRoot, sc.RunAsUser = ptr(true), tt.podUser }),
				csc(func(sc *v1.SecurityContext) { sc.RunAsUser, sc.RunAsNonRoot = tt.ctrUser, tt.ctrNonRoot }))
			in.Config.Image.Config.User = tt.imageUser
			if tt.passwd {
				in.Rootfs = fakeRootfs(t, "root:x:0:0::/root:/bin/sh\ntoor:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n", "staff:x:50:\n")
			}
			_, err := applyOpt(t, WithUser, in)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Reason != ReasonCreateContainerConfigError || ce.Error() != tt.want {
				t.Errorf("err = %#v\nwant message %s", err, tt.want)
			}
		})
	}
}

func TestComputeCapabilities(t *testing.T) {
	caps := func(add ...string) *v1.Capabilities {
		c := &v1.Capabilities{}
		for _, a := range add {
			c.Add = append(c.Add, v1.Capability(a))
		}
		return c
	}
	without := func(names ...string) []string {
		return slices.DeleteFunc(slices.Clone(DefaultCapabilities), func(c string) bool { return slices.Contains(names, c) })
	}
	tests := []struct {
		name    string
		in      *v1.Capabilities
		want    []string
		wantErr bool
	}{
		{"nil", nil, DefaultCapabilities, false},
		{"add with and without prefix, any case", caps("NET_ADMIN", "CAP_SYS_TIME", "sys_ptrace"), append(slices.Clone(DefaultCapabilities), "CAP_NET_ADMIN", "CAP_SYS_TIME", "CAP_SYS_PTRACE"), false},
		{"add existing is no duplicate", caps("CHOWN"), DefaultCapabilities, false},
		{"drop", &v1.Capabilities{Drop: []v1.Capability{"NET_RAW", "CAP_MKNOD"}}, without("CAP_NET_RAW", "CAP_MKNOD"), false},
		{"drop ALL add one", &v1.Capabilities{Drop: []v1.Capability{"ALL"}, Add: []v1.Capability{"NET_BIND_SERVICE"}}, []string{"CAP_NET_BIND_SERVICE"}, false},
		{"drop all (lower case)", &v1.Capabilities{Drop: []v1.Capability{"all"}}, nil, false},
		{"add ALL drop one", &v1.Capabilities{Add: []v1.Capability{"ALL"}, Drop: []v1.Capability{"CHOWN"}}, AllCapabilities[1:], false},
		{"add and drop same: drop wins", &v1.Capabilities{Add: []v1.Capability{"SYS_ADMIN"}, Drop: []v1.Capability{"SYS_ADMIN"}}, DefaultCapabilities, false},
		{"unknown add", caps("FLY"), nil, true},
		{"unknown drop", &v1.Capabilities{Drop: []v1.Capability{"CAP_FLY"}}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ComputeCapabilities(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if !tt.wantErr && !slices.Equal(got, tt.want) {
				t.Errorf("got %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestWithCapabilities(t *testing.T) {
	tests := []struct {
		name string
		mut  func(*SpecInput)
		want []string
	}{
		{"default", func(*SpecInput) {}, DefaultCapabilities},
		{"non-root keeps the sets (kernel drops them at execve)", csc(func(sc *v1.SecurityContext) { sc.RunAsUser = ptr(int64(1000)) }), DefaultCapabilities},
		{"privileged ignores drop", csc(func(sc *v1.SecurityContext) {
			sc.Privileged = ptr(true)
			sc.Capabilities = &v1.Capabilities{Drop: []v1.Capability{"ALL"}}
		}), AllCapabilities},
		{"host capabilities limit privileged", func(in *SpecInput) {
			csc(func(sc *v1.SecurityContext) { sc.Privileged = ptr(true) })(in)
			in.HostCapabilities = []string{"CAP_KILL", "CAP_CHOWN"}
		}, []string{"CAP_CHOWN", "CAP_KILL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := applyOpt(t, WithCapabilities, testInput(t, tt.mut))
			if err != nil {
				t.Fatal(err)
			}
			c := s.Process.Capabilities
			if !slices.Equal(c.Bounding, tt.want) || !slices.Equal(c.Effective, tt.want) || !slices.Equal(c.Permitted, tt.want) {
				t.Errorf("caps %+v, want %v", c, tt.want)
			}
			if len(c.Inheritable) != 0 || len(c.Ambient) != 0 {
				t.Errorf("inheritable %v ambient %v", c.Inheritable, c.Ambient)
			}
		})
	}
	if _, err := applyOpt(t, WithCapabilities, testInput(t, csc(func(sc *v1.SecurityContext) {
		sc.Capabilities = &v1.Capabilities{Add: []v1.Capability{"NOPE"}}
	}))); err == nil {
		t.Error("unknown capability: no error")
	}
}

func TestWithNoNewPrivileges(t *testing.T) {
	tests := []struct {
		name string
		sc   *v1.SecurityContext
		want bool
	}{
		{"no securityContext", nil, false},
		{"unset", &v1.SecurityContext{}, false},
		{"allowed", &v1.SecurityContext{AllowPrivilegeEscalation: ptr(true)}, false},
		{"disallowed", &v1.SecurityContext{AllowPrivilegeEscalation: ptr(false)}, true},
		{"privileged", &v1.SecurityContext{AllowPrivilegeEscalation: ptr(false), Privileged: ptr(true)}, false},
		{"SYS_ADMIN added", &v1.SecurityContext{AllowPrivilegeEscalation: ptr(false), Capabilities: &v1.Capabilities{Add: []v1.Capability{"SYS_ADMIN"}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := testInput(t, func(in *SpecInput) { in.Config.Container.SecurityContext = tt.sc })
			s := newBaseSpec(in)
			for _, opt := range []SpecOpt{WithCapabilities, WithNoNewPrivileges} {
				if err := opt(s, in); err != nil {
					t.Fatal(err)
				}
			}
			if s.Process.NoNewPrivileges != tt.want {
				t.Errorf("noNewPrivileges = %v, want %v", s.Process.NoNewPrivileges, tt.want)
			}
		})
	}
}

func TestWithReadonlyRootfs(t *testing.T) {
	for _, ro := range []*bool{nil, ptr(false), ptr(true)} {
		s, _ := applyOpt(t, WithReadonlyRootfs, testInput(t, csc(func(sc *v1.SecurityContext) { sc.ReadOnlyRootFilesystem = ro })))
		if want := ro != nil && *ro; s.Root.Readonly != want {
			t.Errorf("readOnlyRootFilesystem %v: root.readonly %v", ro, s.Root.Readonly)
		}
	}
}

func TestWithMaskedPaths(t *testing.T) {
	unmasked, def := v1.UnmaskedProcMount, v1.DefaultProcMount
	defaults := append(slices.Clone(DefaultReadonlyPaths), "/sys")
	tests := []struct {
		name             string
		sc               *v1.SecurityContext
		masked, readonly []string
	}{
		{"default", nil, DefaultMaskedPaths, defaults},
		{"procMount Default", &v1.SecurityContext{ProcMount: &def}, DefaultMaskedPaths, defaults},
		{"procMount Unmasked keeps /sys read-only", &v1.SecurityContext{ProcMount: &unmasked}, nil, []string{"/sys"}},
		{"privileged", &v1.SecurityContext{Privileged: ptr(true)}, nil, nil},
	}
	for _, tt := range tests {
		s, _ := applyOpt(t, WithMaskedPaths, testInput(t, func(in *SpecInput) { in.Config.Container.SecurityContext = tt.sc }))
		if !slices.Equal(s.Linux.MaskedPaths, tt.masked) || !slices.Equal(s.Linux.ReadonlyPaths, tt.readonly) {
			t.Errorf("%s: masked %v readonly %v, want %v %v", tt.name, s.Linux.MaskedPaths, s.Linux.ReadonlyPaths, tt.masked, tt.readonly)
		}
	}
}

func TestWithSeccomp(t *testing.T) {
	profRoot := t.TempDir()
	if err := os.WriteFile(filepath.Join(profRoot, "deny-mkdir.json"), []byte(`{
		"defaultAction": "SCMP_ACT_ALLOW",
		"syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	rd := &v1.SeccompProfile{Type: v1.SeccompProfileTypeRuntimeDefault}
	unconf := &v1.SeccompProfile{Type: v1.SeccompProfileTypeUnconfined}
	local := func(name string) *v1.SeccompProfile {
		return &v1.SeccompProfile{Type: v1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr(name)}
	}
	tests := []struct {
		name      string
		pod, ctr  *v1.SeccompProfile
		def, priv bool
		root      string
		want      string // "default", "none", "local"
		wantErr   bool
	}{
		{name: "nothing", want: "none"},
		{name: "seccomp-default", def: true, want: "default"},
		{name: "pod RuntimeDefault", pod: rd, want: "default"},
		{name: "container Unconfined overrides pod", pod: rd, ctr: unconf, want: "none"},
		{name: "Unconfined overrides seccomp-default", pod: unconf, def: true, want: "none"},
		{name: "container RuntimeDefault overrides pod Unconfined", pod: unconf, ctr: rd, want: "default"},
		{name: "privileged is unconfined", ctr: rd, priv: true, want: "none"},
		{name: "Localhost", ctr: local("deny-mkdir.json"), root: profRoot, want: "local"},
		{name: "Localhost stays below the root", ctr: local("../../../deny-mkdir.json"), root: profRoot, want: "local"},
		{name: "Localhost without root", ctr: local("deny-mkdir.json"), wantErr: true},
		{name: "Localhost missing file", ctr: local("nope.json"), root: profRoot, wantErr: true},
		{name: "Localhost without name", ctr: &v1.SeccompProfile{Type: v1.SeccompProfileTypeLocalhost}, root: profRoot, wantErr: true},
		{name: "unknown type", ctr: &v1.SeccompProfile{Type: "Weird"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := testInput(t,
				psc(func(sc *v1.PodSecurityContext) { sc.SeccompProfile = tt.pod }),
				csc(func(sc *v1.SecurityContext) { sc.SeccompProfile, sc.Privileged = tt.ctr, ptr(tt.priv) }),
				func(in *SpecInput) { in.SeccompDefault, in.SeccompProfileRoot = tt.def, tt.root })
			s := newBaseSpec(in)
			if err := WithCapabilities(s, in); err != nil {
				t.Fatal(err)
			}
			err := WithSeccomp(s, in)
			if tt.wantErr {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			sc := s.Linux.Seccomp
			switch tt.want {
			case "none":
				if sc != nil {
					t.Errorf("seccomp set: %v", sc.DefaultAction)
				}
			case "default":
				if sc == nil || sc.DefaultAction != specs.ActErrno || len(sc.Syscalls) < 10 {
					t.Fatalf("not the default profile: %+v", sc)
				}
			case "local":
				if sc == nil || sc.DefaultAction != specs.ActAllow || len(sc.Syscalls) != 1 || sc.Syscalls[0].Names[0] != "mkdir" {
					t.Errorf("not the local profile: %+v", sc)
				}
			}
		})
	}
}

func TestCapabilitiesFromMask(t *testing.T) {
	// This VM's daemon: everything but CAP_SYS_RESOURCE (bit 24).
	got := CapabilitiesFromMask(0x000001fffeffffff)
	if len(got) != 40 || slices.Contains(got, "CAP_SYS_RESOURCE") || !slices.Contains(got, "CAP_CHECKPOINT_RESTORE") {
		t.Errorf("got %v", got)
	}
	if got := CapabilitiesFromMask(1<<0 | 1<<21 | 1<<63); !slices.Equal(got, []string{"CAP_CHOWN", "CAP_SYS_ADMIN"}) {
		t.Errorf("got %v", got)
	}
	if got := CapabilitiesFromMask(0); got != nil {
		t.Errorf("got %v", got)
	}
}

func TestWithMACProfiles(t *testing.T) {
	local := "my-profile"
	tests := []struct {
		name              string
		pod               func(*v1.PodSecurityContext)
		ctr               func(*v1.SecurityContext)
		apparmor, selinux bool
		wantAA, wantSE    string
		wantMount         string
	}{
		{name: "nothing asked"},
		{name: "localhost apparmor, host without it",
			pod: func(sc *v1.PodSecurityContext) {
				sc.AppArmorProfile = &v1.AppArmorProfile{Type: v1.AppArmorProfileTypeLocalhost, LocalhostProfile: &local}
			}},
		{name: "localhost apparmor", apparmor: true, wantAA: "my-profile",
			pod: func(sc *v1.PodSecurityContext) {
				sc.AppArmorProfile = &v1.AppArmorProfile{Type: v1.AppArmorProfileTypeLocalhost, LocalhostProfile: &local}
			}},
		{name: "container unconfined over pod localhost", apparmor: true,
			pod: func(sc *v1.PodSecurityContext) {
				sc.AppArmorProfile = &v1.AppArmorProfile{Type: v1.AppArmorProfileTypeLocalhost, LocalhostProfile: &local}
			},
			ctr: func(sc *v1.SecurityContext) {
				sc.AppArmorProfile = &v1.AppArmorProfile{Type: v1.AppArmorProfileTypeUnconfined}
			}},
		{name: "runtime default apparmor sets nothing", apparmor: true,
			ctr: func(sc *v1.SecurityContext) {
				sc.AppArmorProfile = &v1.AppArmorProfile{Type: v1.AppArmorProfileTypeRuntimeDefault}
			}},
		{name: "selinux, host without it",
			ctr: func(sc *v1.SecurityContext) { sc.SELinuxOptions = &v1.SELinuxOptions{Level: "s0:c1,c2"} }},
		{name: "selinux level, container over pod", selinux: true,
			pod: func(sc *v1.PodSecurityContext) {
				sc.SELinuxOptions = &v1.SELinuxOptions{Type: "spc_t", Level: "s0:c9"}
			},
			ctr:    func(sc *v1.SecurityContext) { sc.SELinuxOptions = &v1.SELinuxOptions{Level: "s0:c1,c2"} },
			wantSE: "system_u:system_r:spc_t:s0:c1,c2", wantMount: "system_u:object_r:container_file_t:s0:c1,c2"},
		{name: "selinux not for privileged", selinux: true,
			ctr: func(sc *v1.SecurityContext) {
				sc.SELinuxOptions = &v1.SELinuxOptions{Level: "s0:c1"}
				sc.Privileged = ptr(true)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []func(*SpecInput)
			if tt.pod != nil {
				opts = append(opts, psc(tt.pod))
			}
			if tt.ctr != nil {
				opts = append(opts, csc(tt.ctr))
			}
			in := testInput(t, opts...)
			in.AppArmorEnabled, in.SELinuxEnabled = tt.apparmor, tt.selinux
			s, err := applyOpt(t, WithMACProfiles, in)
			if err != nil {
				t.Fatal(err)
			}
			if s.Process.ApparmorProfile != tt.wantAA || s.Process.SelinuxLabel != tt.wantSE || s.Linux.MountLabel != tt.wantMount {
				t.Errorf("apparmor %q selinux %q mount %q, want %q %q %q", s.Process.ApparmorProfile,
					s.Process.SelinuxLabel, s.Linux.MountLabel, tt.wantAA, tt.wantSE, tt.wantMount)
			}
		})
	}
}
