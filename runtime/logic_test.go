package runtime

import (
	"testing"

	"golang.org/x/sys/unix"
	v1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/cri"
	"github.com/podrun/podrun/internal/layout"
)

func TestParseSignal(t *testing.T) {
	tests := []struct {
		in   string
		want unix.Signal
		ok   bool
	}{
		{"SIGTERM", unix.SIGTERM, true},
		{"TERM", unix.SIGTERM, true},
		{"sigquit", unix.SIGQUIT, true},
		{"9", unix.SIGKILL, true},
		{" SIGUSR1 ", unix.SIGUSR1, true},
		{"SIGNOPE", 0, false},
		{"0", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		got, err := parseSignal(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseSignal(%q) = %v, %v; want %v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestStopSignal(t *testing.T) {
	quit := v1.Signal("SIGQUIT")
	tests := []struct {
		name        string
		lifecycle   *v1.Lifecycle
		image       string
		annotations map[string]string
		want        string
	}{
		{"default", nil, "", nil, "SIGTERM"},
		{"image", nil, "SIGINT", nil, "SIGINT"},
		{"annotation", nil, "", map[string]string{stopSignalAnnotation: "SIGHUP"}, "SIGHUP"},
		{"lifecycle wins", &v1.Lifecycle{StopSignal: &quit}, "SIGINT", nil, "SIGQUIT"},
		{"lifecycle without signal", &v1.Lifecycle{}, "SIGINT", nil, "SIGINT"},
	}
	for _, tt := range tests {
		cfg := &cri.ContainerConfig{Container: &v1.Container{Lifecycle: tt.lifecycle}, Image: &cri.Image{Config: cri.ImageConfig{StopSignal: tt.image}}}
		if got := stopSignal(cfg, tt.annotations); got != tt.want {
			t.Errorf("%s: got %s want %s", tt.name, got, tt.want)
		}
	}
}

func TestValidID(t *testing.T) {
	good := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for in, want := range map[string]bool{good: true, good[:63]: false, good[:63] + "G": false, "../" + good[3:]: false, "": false} {
		if layout.ValidID(in) != want {
			t.Errorf("layout.ValidID(%q) != %v", in, want)
		}
	}
	id, err := newID()
	if err != nil || !layout.ValidID(id) {
		t.Errorf("newID() = %q, %v", id, err)
	}
}

func TestChildEnv(t *testing.T) {
	t.Setenv("_LIBCONTAINER_INITPIPE", "3")
	t.Setenv("GOMAXPROCS", "8")
	t.Setenv("PODRUN_TEST_KEEP", "yes")
	tests := []struct {
		name       string
		set        []string
		want       []string // present, exactly once
		wantAbsent []string
	}{
		{"nothing set", nil, []string{"GOMAXPROCS=8", "PODRUN_TEST_KEEP=yes"}, []string{"_LIBCONTAINER_INITPIPE=3"}},
		{"set replaces", []string{"GOMAXPROCS=1"}, []string{"GOMAXPROCS=1", "PODRUN_TEST_KEEP=yes"}, []string{"GOMAXPROCS=8", "_LIBCONTAINER_INITPIPE=3"}},
		{"set adds", []string{"GOGC=20"}, []string{"GOGC=20", "GOMAXPROCS=8"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := childEnv(tt.set...)
			count := map[string]int{}
			for _, kv := range env {
				count[kv]++
			}
			for _, kv := range tt.want {
				if count[kv] != 1 {
					t.Errorf("%s appears %d times in %v", kv, count[kv], env)
				}
			}
			for _, kv := range tt.wantAbsent {
				if count[kv] != 0 {
					t.Errorf("%s is in %v", kv, env)
				}
			}
		})
	}
}
