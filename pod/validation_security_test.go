package pod

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestValidateSecurity(t *testing.T) {
	i64 := func(v int64) *int64 { return &v }
	str := func(s string) *string { return &s }
	yes, no := true, false
	pm := func(p v1.ProcMountType) *v1.ProcMountType { return &p }
	tests := []struct {
		name    string
		pod     *v1.PodSecurityContext
		ctr     *v1.SecurityContext
		unsafe  []string
		noUsers bool
		hostNet bool
		wantErr string // field path of the first error; "" = valid
	}{
		{name: "empty"},
		{name: "ids ok", pod: &v1.PodSecurityContext{RunAsUser: i64(1000), RunAsGroup: i64(0), FSGroup: i64(2000), SupplementalGroups: []int64{1, 2}}},
		{name: "negative pod uid", pod: &v1.PodSecurityContext{RunAsUser: i64(-1)}, wantErr: "spec.securityContext.runAsUser"},
		{name: "uid too large", ctr: &v1.SecurityContext{RunAsUser: i64(1 << 31)}, wantErr: "spec.containers[0].securityContext.runAsUser"},
		{name: "negative supplemental", pod: &v1.PodSecurityContext{SupplementalGroups: []int64{3, -3}}, wantErr: "spec.securityContext.supplementalGroups[1]"},
		{name: "privileged without escalation", ctr: &v1.SecurityContext{Privileged: &yes, AllowPrivilegeEscalation: &no}, wantErr: "spec.containers[0].securityContext"},
		{name: "sys_admin without escalation", ctr: &v1.SecurityContext{AllowPrivilegeEscalation: &no, Capabilities: &v1.Capabilities{Add: []v1.Capability{"SYS_ADMIN"}}}, wantErr: "spec.containers[0].securityContext"},
		{name: "privileged with escalation", ctr: &v1.SecurityContext{Privileged: &yes, AllowPrivilegeEscalation: &yes}},
		{name: "caps with and without prefix", ctr: &v1.SecurityContext{Capabilities: &v1.Capabilities{Add: []v1.Capability{"NET_ADMIN", "CAP_SYS_TIME", "all"}, Drop: []v1.Capability{"ALL", "cap_kill"}}}},
		{name: "unknown cap", ctr: &v1.SecurityContext{Capabilities: &v1.Capabilities{Drop: []v1.Capability{"KILL", "FLY"}}}, wantErr: "spec.containers[0].securityContext.capabilities.drop[1]"},
		{name: "windows pod", pod: &v1.PodSecurityContext{WindowsOptions: &v1.WindowsSecurityContextOptions{}}, wantErr: "spec.securityContext.windowsOptions"},
		{name: "windows container", ctr: &v1.SecurityContext{WindowsOptions: &v1.WindowsSecurityContextOptions{}}, wantErr: "spec.containers[0].securityContext.windowsOptions"},
		{name: "seccomp localhost", ctr: &v1.SecurityContext{SeccompProfile: &v1.SeccompProfile{Type: v1.SeccompProfileTypeLocalhost, LocalhostProfile: str("p/a.json")}}},
		{name: "seccomp localhost missing", ctr: &v1.SecurityContext{SeccompProfile: &v1.SeccompProfile{Type: v1.SeccompProfileTypeLocalhost}}, wantErr: "spec.containers[0].securityContext.seccompProfile.localhostProfile"},
		{name: "seccomp localhost absolute", pod: &v1.PodSecurityContext{SeccompProfile: &v1.SeccompProfile{Type: v1.SeccompProfileTypeLocalhost, LocalhostProfile: str("/etc/p.json")}}, wantErr: "spec.securityContext.seccompProfile.localhostProfile"},
		{name: "seccomp profile with RuntimeDefault", ctr: &v1.SecurityContext{SeccompProfile: &v1.SeccompProfile{Type: v1.SeccompProfileTypeRuntimeDefault, LocalhostProfile: str("x")}}, wantErr: "spec.containers[0].securityContext.seccompProfile.localhostProfile"},
		{name: "apparmor bad type", ctr: &v1.SecurityContext{AppArmorProfile: &v1.AppArmorProfile{Type: "Strict"}}, wantErr: "spec.containers[0].securityContext.appArmorProfile.type"},
		{name: "procMount unmasked", ctr: &v1.SecurityContext{ProcMount: pm(v1.UnmaskedProcMount)}},
		{name: "procMount bad", ctr: &v1.SecurityContext{ProcMount: pm("Half")}, wantErr: "spec.containers[0].securityContext.procMount"},
		{name: "safe sysctls", pod: &v1.PodSecurityContext{Sysctls: []v1.Sysctl{{Name: "kernel.shm_rmid_forced", Value: "1"}, {Name: "net/ipv4/ip_unprivileged_port_start", Value: "80"}}}},
		{name: "unsafe sysctl", pod: &v1.PodSecurityContext{Sysctls: []v1.Sysctl{{Name: "net.core.somaxconn", Value: "1"}}}, wantErr: "spec.securityContext.sysctls[0].name"},
		{name: "unsafe sysctl allowed by pattern", pod: &v1.PodSecurityContext{Sysctls: []v1.Sysctl{{Name: "net.core.somaxconn", Value: "1"}}}, unsafe: []string{"net.core.*"}},
		{name: "node-wide sysctl even if allowed", pod: &v1.PodSecurityContext{Sysctls: []v1.Sysctl{{Name: "kernel.panic", Value: "1"}}}, unsafe: []string{"kernel.panic"}, wantErr: "spec.securityContext.sysctls[0].name"},
		{name: "duplicate sysctl", pod: &v1.PodSecurityContext{Sysctls: []v1.Sysctl{{Name: "kernel.shm_rmid_forced", Value: "1"}, {Name: "kernel/shm_rmid_forced", Value: "0"}}}, wantErr: "spec.securityContext.sysctls[1].name"},
		{name: "net sysctl with hostNetwork", hostNet: true, pod: &v1.PodSecurityContext{Sysctls: []v1.Sysctl{{Name: "net.ipv4.tcp_syncookies", Value: "1"}}}, wantErr: "spec.securityContext.sysctls[0].name"},
		{name: "ipc sysctl with hostNetwork", hostNet: true, pod: &v1.PodSecurityContext{Sysctls: []v1.Sysctl{{Name: "kernel.shm_rmid_forced", Value: "1"}}}},
		{name: "hostUsers false", noUsers: true, wantErr: "spec.hostUsers"},
		{name: "bad sysctl name", pod: &v1.PodSecurityContext{Sysctls: []v1.Sysctl{{Name: "Kernel..x", Value: "1"}}}, wantErr: "spec.securityContext.sysctls[0].name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := &v1.PodSpec{SecurityContext: tt.pod, Containers: []v1.Container{{Name: "c", SecurityContext: tt.ctr}}}
			spec.HostNetwork = tt.hostNet
			if tt.noUsers {
				spec.HostUsers = &no
			}
			errs := validateSecurity(spec, field.NewPath("spec"), tt.unsafe)
			switch {
			case tt.wantErr == "" && len(errs) > 0:
				t.Fatalf("unexpected errors: %v", errs)
			case tt.wantErr != "" && len(errs) == 0:
				t.Fatalf("no error, want one at %s", tt.wantErr)
			case tt.wantErr != "" && errs[0].Field != tt.wantErr:
				t.Fatalf("error at %s (%v), want %s", errs[0].Field, errs[0], tt.wantErr)
			}
		})
	}
}

func TestMACWarnings(t *testing.T) {
	local := "my-profile"
	pod := &v1.Pod{Spec: v1.PodSpec{SecurityContext: &v1.PodSecurityContext{
		AppArmorProfile: &v1.AppArmorProfile{Type: v1.AppArmorProfileTypeLocalhost, LocalhostProfile: &local},
		SELinuxOptions:  &v1.SELinuxOptions{Level: "s0:c1,c2"},
	}}}
	c := &v1.Container{Name: "c"}
	tests := []struct {
		name              string
		container         *v1.SecurityContext
		apparmor, selinux bool
		want              []string
	}{
		{name: "host has neither", want: []string{evAppArmorNotEnabled, evSELinuxNotEnabled}},
		{name: "host has both", apparmor: true, selinux: true},
		{name: "runtime default on an AppArmor host", container: &v1.SecurityContext{AppArmorProfile: &v1.AppArmorProfile{Type: v1.AppArmorProfileTypeRuntimeDefault}}, apparmor: true, selinux: true, want: []string{evAppArmorNoDefault}},
		{name: "container unconfined", container: &v1.SecurityContext{AppArmorProfile: &v1.AppArmorProfile{Type: v1.AppArmorProfileTypeUnconfined}}, want: []string{evSELinuxNotEnabled}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cc := c.DeepCopy()
			cc.SecurityContext = tt.container
			reasons, msgs := macWarnings(pod, cc, tt.apparmor, tt.selinux)
			if strings.Join(reasons, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("reasons %v, want %v (%v)", reasons, tt.want, msgs)
			}
			if len(reasons) > 0 && tt.apparmor == false && !strings.Contains(msgs[0], "localhost/my-profile") && tt.container == nil {
				t.Errorf("message does not name the profile: %q", msgs[0])
			}
		})
	}
}

func TestApplyFSGroup(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (chown)")
	}
	gid := int64(4321)
	for _, policy := range []v1.PodFSGroupChangePolicy{v1.FSGroupChangeAlways, v1.FSGroupChangeOnRootMismatch} {
		dir := filepath.Join(t.TempDir(), "vol")
		if err := os.Mkdir(dir, 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, 0o777); err != nil {
			t.Fatal(err)
		}
		p := policy
		if err := applyFSGroup(dir, &v1.PodSecurityContext{FSGroup: &gid, FSGroupChangePolicy: &p}); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if g, _ := statGid(st); g != int(gid) || st.Mode()&os.ModeSetgid == 0 || st.Mode().Perm() != 0o777 {
			t.Errorf("%s: gid %d mode %v, want %d setgid 0777", policy, g, st.Mode(), gid)
		}
	}
}
