package runtime

import (
	"slices"
	"testing"

	v1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/cri"
)

func TestResolveCommand(t *testing.T) {
	img := cri.ImageConfig{Entrypoint: []string{"/entry"}, Cmd: []string{"--cmd"}}
	tests := []struct {
		name    string
		c       v1.Container
		img     cri.ImageConfig
		want    []string
		wantErr bool
	}{
		{"image only", v1.Container{}, img, []string{"/entry", "--cmd"}, false},
		{"command replaces entrypoint and cmd", v1.Container{Command: []string{"/bin/sh"}}, img, []string{"/bin/sh"}, false},
		{"command and args", v1.Container{Command: []string{"/bin/sh"}, Args: []string{"-c", "x"}}, img, []string{"/bin/sh", "-c", "x"}, false},
		{"args replace cmd only", v1.Container{Args: []string{"a"}}, img, []string{"/entry", "a"}, false},
		{"args without entrypoint", v1.Container{Args: []string{"sleep", "1"}}, cri.ImageConfig{Cmd: []string{"sh"}}, []string{"sleep", "1"}, false},
		{"cmd only image", v1.Container{}, cri.ImageConfig{Cmd: []string{"sh"}}, []string{"sh"}, false},
		{"nothing", v1.Container{}, cri.ImageConfig{}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ResolveCommand(&tt.c, tt.img)
			if (err != nil) != tt.wantErr || !slices.Equal(got, tt.want) {
				t.Errorf("got %q, %v; want %q (err %v)", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestExpandVars(t *testing.T) {
	vars := map[string]string{"A": "a", "B": "b b", "EMPTY": ""}
	lookup := func(n string) (string, bool) { v, ok := vars[n]; return v, ok }
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"$(A)", "a"},
		{"x$(A)y$(B)z", "xayb bz"},
		{"$(EMPTY)-", "-"},
		{"$(UNKNOWN)", "$(UNKNOWN)"},
		{"$$(A)", "$(A)"},
		{"$$$(A)", "$a"},
		{"$$", "$"},
		{"$A", "$A"},
		{"cost: 5$", "cost: 5$"},
		{"$(A", "$(A"},
		{"$(A)$(", "a$("},
		{"$()", "$()"},
	}
	for _, tt := range tests {
		if got := ExpandVars(tt.in, lookup); got != tt.want {
			t.Errorf("ExpandVars(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestWithEnv(t *testing.T) {
	tests := []struct {
		name string
		mut  func(*SpecInput)
		want []string
	}{
		{
			name: "image env, hostname",
			want: []string{"PATH=/bin:/usr/bin", "HOSTNAME=web", "IMG=1"},
		},
		{
			name: "default PATH when the image has none",
			mut:  func(in *SpecInput) { in.Config.Image.Config.Env = nil },
			want: []string{DefaultPathEnv, "HOSTNAME=web"},
		},
		{
			name: "no image",
			mut:  func(in *SpecInput) { in.Config.Image = nil; in.Sandbox.Hostname = "" },
			want: []string{DefaultPathEnv, "HOSTNAME=web"},
		},
		{
			name: "kubernetes env overrides by name, in place",
			mut: func(in *SpecInput) {
				in.Config.Env = []v1.EnvVar{{Name: "IMG", Value: "2"}, {Name: "HOSTNAME", Value: "h"}, {Name: "NEW", Value: "n"}}
			},
			want: []string{"PATH=/bin:/usr/bin", "HOSTNAME=h", "IMG=2", "NEW=n"},
		},
		{
			name: "hostNetwork: the node's hostname",
			mut: func(in *SpecInput) {
				in.Config.Pod.Spec.HostNetwork, in.NodeHostname = true, "node1"
			},
			want: []string{"PATH=/bin:/usr/bin", "HOSTNAME=node1", "IMG=1"},
		},
		{
			name: "node hostname unused without hostNetwork",
			mut:  func(in *SpecInput) { in.NodeHostname = "node1" },
			want: []string{"PATH=/bin:/usr/bin", "HOSTNAME=web", "IMG=1"},
		},
		{
			name: "resolved env is final: not expanded again",
			mut: func(in *SpecInput) {
				in.Config.Env = []v1.EnvVar{{Name: "A", Value: "x"}, {Name: "B", Value: "$(A)"}}
			},
			want: []string{"PATH=/bin:/usr/bin", "HOSTNAME=web", "IMG=1", "A=x", "B=$(A)"},
		},
		{
			name: "expansion uses earlier kubernetes vars only",
			mut: func(in *SpecInput) {
				in.Config.Container.Env = []v1.EnvVar{
					{Name: "A", Value: "x"},
					{Name: "B", Value: "$(A)-$(C)-$(IMG)-$$(A)"},
					{Name: "C", Value: "c"},
				}
			},
			want: []string{"PATH=/bin:/usr/bin", "HOSTNAME=web", "IMG=1", "A=x", "B=x-$(C)-$(IMG)-$(A)", "C=c"},
		},
		{
			name: "container env used when the pod manager resolved none",
			mut:  func(in *SpecInput) { in.Config.Container.Env = []v1.EnvVar{{Name: "L", Value: "lit"}} },
			want: []string{"PATH=/bin:/usr/bin", "HOSTNAME=web", "IMG=1", "L=lit"},
		},
		{
			name: "resolved env wins over container env",
			mut: func(in *SpecInput) {
				in.Config.Container.Env = []v1.EnvVar{{Name: "L", Value: "lit"}}
				in.Config.Env = []v1.EnvVar{{Name: "L", Value: "resolved"}}
			},
			want: []string{"PATH=/bin:/usr/bin", "HOSTNAME=web", "IMG=1", "L=resolved"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := testInput(t)
			if tt.mut != nil {
				tt.mut(in)
			}
			s, err := applyOpt(t, WithEnv, in)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(s.Process.Env, tt.want) {
				t.Errorf("env\n got %q\nwant %q", s.Process.Env, tt.want)
			}
		})
	}
}

func TestWithProcessArgs(t *testing.T) {
	tests := []struct {
		name    string
		c       v1.Container
		env     []v1.EnvVar
		want    []string
		wantErr bool
	}{
		{"image cmd", v1.Container{}, nil, []string{"sh"}, false},
		{"expanded from env", v1.Container{Command: []string{"echo", "$(MSG)", "$(A)"}}, []v1.EnvVar{{Name: "A", Value: "1"}, {Name: "MSG", Value: "$(A)+"}}, []string{"echo", "1+", "1"}, false},
		{"unknown and escaped", v1.Container{Command: []string{"sh", "-c", "echo $$HOME $(NOPE)"}}, nil, []string{"sh", "-c", "echo $HOME $(NOPE)"}, false},
	}
	// The pod manager's resolved env means command and args were expanded already.
	resolved := testInput(t, func(in *SpecInput) {
		in.Config.Container.Command = []string{"echo", "$(A)"}
		in.Config.Env = []v1.EnvVar{{Name: "A", Value: "1"}}
	})
	if s, _ := applyOpt(t, WithProcessArgs, resolved); !slices.Equal(s.Process.Args, []string{"echo", "$(A)"}) {
		t.Errorf("resolved env: args expanded again: %q", s.Process.Args)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := testInput(t, func(in *SpecInput) {
				in.Config.Container.Command, in.Config.Container.Args = tt.c.Command, tt.c.Args
				in.Config.Container.Env = tt.env
			})
			s, err := applyOpt(t, WithProcessArgs, in)
			if (err != nil) != tt.wantErr || !slices.Equal(s.Process.Args, tt.want) {
				t.Errorf("args %q err %v; want %q", s.Process.Args, err, tt.want)
			}
		})
	}
	in := testInput(t, func(in *SpecInput) { in.Config.Image.Config.Cmd = nil })
	if _, err := applyOpt(t, WithProcessArgs, in); err == nil {
		t.Error("no command: no error")
	}
}

func TestWithWorkingDir(t *testing.T) {
	tests := []struct{ container, image, want string }{
		{"", "", "/"},
		{"", "/srv", "/srv"},
		{"/work", "/srv", "/work"},
		{"rel", "", "/rel"},
	}
	for _, tt := range tests {
		in := testInput(t, func(in *SpecInput) {
			in.Config.Container.WorkingDir = tt.container
			in.Config.Image.Config.WorkingDir = tt.image
		})
		s, _ := applyOpt(t, WithWorkingDir, in)
		if s.Process.Cwd != tt.want {
			t.Errorf("container %q image %q: cwd %q, want %q", tt.container, tt.image, s.Process.Cwd, tt.want)
		}
	}
}

func TestWithTerminalAnnotationsCgroups(t *testing.T) {
	in := testInput(t, func(in *SpecInput) { in.Config.Container.TTY = true })
	s := newBaseSpec(in)
	for _, opt := range []SpecOpt{WithTerminal, WithAnnotations, WithCgroupsPath} {
		if err := opt(s, in); err != nil {
			t.Fatal(err)
		}
	}
	if !s.Process.Terminal || s.Linux.CgroupsPath != in.CgroupsPath {
		t.Errorf("terminal %v cgroups %q", s.Process.Terminal, s.Linux.CgroupsPath)
	}
	want := map[string]string{
		AnnotationPodName: "web", AnnotationPodNamespace: "default", AnnotationPodUID: "uid-1",
		AnnotationContainerName: "app", AnnotationSandboxID: "sb1",
	}
	for k, v := range want {
		if s.Annotations[k] != v {
			t.Errorf("annotation %s = %q, want %q", k, s.Annotations[k], v)
		}
	}
}
