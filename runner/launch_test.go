package runner

import (
	"reflect"
	"strings"
	"testing"

	"github.com/opencontainers/runc/libcontainer/configs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestProcessFromSpec(t *testing.T) {
	tests := []struct {
		name    string
		in      *specs.Process
		want    Process
		wantErr string
	}{
		{name: "no process", in: nil, wantErr: "no process"},
		{
			name: "identity, env, cwd, noNewPrivileges",
			in: &specs.Process{
				Args: []string{"sh"}, Env: []string{"A=1"}, Cwd: "/w", NoNewPrivileges: true,
				User: specs.User{UID: 1000, GID: 3000, AdditionalGids: []uint32{4, 5}},
			},
			want: Process{Args: []string{"sh"}, Env: []string{"A=1"}, Cwd: "/w", NoNewPrivileges: true,
				UID: 1000, GID: 3000, AdditionalGroups: []int{4, 5}},
		},
		{
			name: "capabilities, rlimits by name in any case, console size, labels",
			in: &specs.Process{
				Capabilities: &specs.LinuxCapabilities{Bounding: []string{"CAP_KILL"}, Effective: []string{"CAP_KILL"}},
				Rlimits:      []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 10, Soft: 5}, {Type: "rlimit_core", Hard: 0, Soft: 0}},
				ConsoleSize:  &specs.Box{Width: 80, Height: 24},
				SelinuxLabel: "system_u:system_r:container_t:s0", ApparmorProfile: "podrun-default",
			},
			want: Process{
				Capabilities: &configs.Capabilities{Bounding: []string{"CAP_KILL"}, Effective: []string{"CAP_KILL"}},
				Rlimits:      []configs.Rlimit{{Type: unix.RLIMIT_NOFILE, Hard: 10, Soft: 5}, {Type: unix.RLIMIT_CORE}},
				ConsoleWidth: 80, ConsoleHeight: 24,
				Label: "system_u:system_r:container_t:s0", AppArmorProfile: "podrun-default",
			},
		},
		{name: "unknown rlimit", in: &specs.Process{Rlimits: []specs.POSIXRlimit{{Type: "RLIMIT_BOGUS"}}}, wantErr: `unknown rlimit "RLIMIT_BOGUS"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ProcessFromSpec(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestLibcontainerProcess(t *testing.T) {
	p := Process{Args: []string{"true"}, UID: 7, NoNewPrivileges: true, ConsoleWidth: 100}
	for _, init := range []bool{true, false} {
		lp := p.Libcontainer(init)
		if lp.Init != init || lp.UID != 7 || lp.NoNewPrivileges == nil || !*lp.NoNewPrivileges ||
			lp.ConsoleWidth != 100 || !reflect.DeepEqual(lp.Args, []string{"true"}) {
			t.Errorf("init=%v: %+v", init, lp)
		}
		if lp.Stdin != nil || lp.Stdout != nil || lp.Stderr != nil {
			t.Errorf("init=%v: stdio set", init)
		}
		// Warnings and errors only (logrus.WarnLevel): nsexec's C stages log at DEBUG unless told.
		if lp.LogLevel != "3" {
			t.Errorf("init=%v: LogLevel %q, want 3", init, lp.LogLevel)
		}
	}
}
