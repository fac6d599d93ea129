package images

import (
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	const dgst = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct {
		in   string
		want string // "" = error
	}{
		{"busybox", "docker.io/library/busybox:latest"},
		{"busybox:1.36", "docker.io/library/busybox:1.36"},
		{"library/busybox", "docker.io/library/busybox:latest"},
		{"docker.io/busybox", "docker.io/library/busybox:latest"},
		{"docker.io/library/busybox:latest", "docker.io/library/busybox:latest"},
		{"index.docker.io/library/busybox:1", "docker.io/library/busybox:1"},
		{"ikubernetes/demoapp:v1.0", "docker.io/ikubernetes/demoapp:v1.0"},
		{"localhost:5000/x", "localhost:5000/x:latest"},
		{"localhost/x", "localhost/x:latest"},
		{"quay.io/a/b/c:t_1.2-x", "quay.io/a/b/c:t_1.2-x"},
		{"Example.COM/a", "Example.COM/a:latest"},
		{"[::1]:5000/x", "[::1]:5000/x:latest"},
		{"a-b__c_d/e.f", "docker.io/a-b__c_d/e.f:latest"},
		{"busybox@" + dgst, "docker.io/library/busybox@" + dgst},
		{"busybox:1@" + dgst, "docker.io/library/busybox:1@" + dgst},
		{"", ""},
		{"Busybox", ""},
		{"foo/Bar", ""},
		{"busybox:", ""},
		{"busybox:-x", ""},
		{":tag", ""},
		{"a//b", ""},
		{"busybox/", ""},
		{"-busybox", ""},
		{" busybox", ""},
		{"busybox@sha256:abc", ""},
		{"busybox@", ""},
		{"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", ""},
		{"busybox:" + strings.Repeat("t", 129), ""},
		{strings.Repeat("a", 256), ""},
		{"exa_mple.com:5000/x", ""},
		{"a.b_c/e", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Normalize(tt.in)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("Normalize(%q) = %q, want error", tt.in, got)
				}
				if !strings.Contains(err.Error(), "\""+tt.in+"\"") && len(tt.in) < 100 {
					t.Errorf("error %q does not name the reference %q", err, tt.in)
				}
				return
			}
			if err != nil {
				t.Fatalf("Normalize(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestRepoDigests(t *testing.T) {
	const d = "sha256:aaaa"
	got := repoDigests([]string{"docker.io/library/busybox:latest", "docker.io/library/busybox:1", "quay.io/x/y:z"}, d)
	want := []string{"docker.io/library/busybox@sha256:aaaa", "quay.io/x/y@sha256:aaaa"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("repoDigests = %v, want %v", got, want)
	}
	if got := repoDigests([]string{"busybox"}, ""); got != nil {
		t.Errorf("no manifest digest: got %v, want nil", got)
	}
}

func TestOCITags(t *testing.T) {
	tests := []struct {
		name string
		ann  map[string]string
		want string // space-separated; "!" = error
	}{
		{"full ref.name", map[string]string{annotationRefName: "docker.io/library/busybox:1"}, "docker.io/library/busybox:1"},
		{"short full ref.name", map[string]string{annotationRefName: "busybox:1"}, "docker.io/library/busybox:1"},
		{"tag plus containerd name", map[string]string{annotationRefName: "v2", annotationContainerdName: "ikubernetes/demoapp:v1.0"}, "docker.io/ikubernetes/demoapp:v1.0 docker.io/ikubernetes/demoapp:v2"},
		{"same tag both", map[string]string{annotationRefName: "latest", annotationContainerdName: "busybox"}, "docker.io/library/busybox:latest"},
		{"bare tag only", map[string]string{annotationRefName: "latest"}, ""},
		{"none", nil, ""},
		{"invalid", map[string]string{annotationRefName: "Bad/Name:x"}, "!"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ociTags(tt.ann)
			if tt.want == "!" {
				if err == nil {
					t.Fatalf("want error, got %v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s := strings.Join(got, " "); s != tt.want {
				t.Errorf("ociTags = %q, want %q", s, tt.want)
			}
		})
	}
}
