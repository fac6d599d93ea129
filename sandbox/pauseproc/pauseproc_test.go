package pauseproc

import (
	"slices"
	"strings"
	"testing"
)

func TestArgs(t *testing.T) {
	base := Config{Binary: "/usr/bin/podrun", Rootfs: "/run/podrun/sandboxes/sb/rootfs", UID: 65535, OOMScoreAdj: -998}
	tests := []struct {
		name    string
		edit    func(*Config)
		cgroups *Cgroups
		want    []string
		wantErr string
	}{
		{name: "host namespaces, no cgroup", want: []string{Name, "oom=-998", "rootfs=/run/podrun/sandboxes/sb/rootfs", "binary=/usr/bin/podrun", "uid=65535"}},
		{
			name: "pinned namespaces and cgroups, in the order of use",
			edit: func(c *Config) {
				c.Net, c.IPC, c.UTS, c.NewPID = "/run/podrun/netns/sb", "/run/podrun/ns/sb/ipc", "/run/podrun/ns/sb/uts", true
			},
			cgroups: &Cgroups{Path: "/podrun/poduid/monitor-sb", Join: 42,
				Mounts: []CgroupMount{{Dir: "/sys/fs/cgroup/cpu,cpuacct"}, {Dir: "/sys/fs/cgroup/cpuset", Cpuset: true}}},
			want: []string{Name, "cgroup-path=podrun/poduid/monitor-sb", "cgroup=/sys/fs/cgroup/cpu,cpuacct", "cpuset=/sys/fs/cgroup/cpuset", "join=42", "oom=-998",
				"net=/run/podrun/netns/sb", "ipc=/run/podrun/ns/sb/ipc", "uts=/run/podrun/ns/sb/uts",
				"rootfs=/run/podrun/sandboxes/sb/rootfs", "binary=/usr/bin/podrun", "uid=65535"},
		},
		{name: "no hierarchy: no cgroup arguments", cgroups: &Cgroups{Path: "/p/x"},
			want: []string{Name, "oom=-998", "rootfs=/run/podrun/sandboxes/sb/rootfs", "binary=/usr/bin/podrun", "uid=65535"}},
		{name: "cgroup path leaving the hierarchy", cgroups: &Cgroups{Path: "/p/../../x", Mounts: []CgroupMount{{Dir: "/sys/fs/cgroup"}}}, wantErr: "not a cgroup below"},
		{name: "empty cgroup path", cgroups: &Cgroups{Path: "/", Mounts: []CgroupMount{{Dir: "/sys/fs/cgroup"}}}, wantErr: "not a cgroup below"},
		{name: "relative mount point", cgroups: &Cgroups{Path: "/p/x", Mounts: []CgroupMount{{Dir: "sys/fs/cgroup"}}}, wantErr: "not an absolute path"},
		{name: "only ipc pinned (hostNetwork)", edit: func(c *Config) { c.IPC = "/i" },
			want: []string{Name, "oom=-998", "ipc=/i", "rootfs=/run/podrun/sandboxes/sb/rootfs", "binary=/usr/bin/podrun", "uid=65535"}},
		{name: "relative binary", edit: func(c *Config) { c.Binary = "podrun" }, wantErr: "binary"},
		{name: "no rootfs", edit: func(c *Config) { c.Rootfs = "" }, wantErr: "rootfs"},
		{name: "root uid", edit: func(c *Config) { c.UID = 0 }, wantErr: "uid"},
		{name: "NUL in a path", edit: func(c *Config) { c.Net = "/n\x00x" }, wantErr: "NUL"},
		{name: "too many hierarchies", cgroups: &Cgroups{Path: "/p/x", Mounts: make([]CgroupMount, 33)}, wantErr: "at most 32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base
			if tt.edit != nil {
				tt.edit(&c)
			}
			got, err := c.Args(tt.cgroups)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("Args = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
