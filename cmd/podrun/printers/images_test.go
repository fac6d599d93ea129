package printers

import (
	"bytes"
	"testing"
	"time"

	"github.com/podrun/podrun/cri"
)

func TestPrintImages(t *testing.T) {
	now := time.Date(2026, 11, 28, 14, 0, 0, 0, time.UTC)
	nowFunc = func() time.Time { return now }
	t.Cleanup(func() { nowFunc = time.Now })
	images := []*cri.Image{
		{ID: "sha256:af47096251092caf59498806ab8d58e8173ecf5a182f024ce9d635b5b4a55d66",
			RepoTags: []string{"docker.io/library/busybox:latest", "docker.io/library/busybox:1.36"},
			Size:     2_155_012, Created: now.Add(-3 * 7 * 24 * time.Hour)},
		{ID: "sha256:6698b205eb18fb0171398927f3a35fe27676c6bf5757ef57a35a4b055badf2c3",
			RepoTags: []string{"localhost:5000/ikubernetes/demoapp:v1.0"},
			Size:     92_660_000, Created: now.Add(-90 * time.Minute)},
		{ID: "sha256:1234567890abcdef1234567890abcdef1234567890abcdef1234567890abcdef",
			RepoDigests: []string{"registry.k8s.io/pause@sha256:7031c1b283388d2c2e09b57badb803c05ebed362dc88d84b480cc47f72a21097"},
			Size:        321_000},
		{ID: "sha256:fedcba", Size: 512, Created: now.Add(-30 * time.Second)},
	}
	var b bytes.Buffer
	if err := PrintImages(&b, images); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"REPOSITORY                           TAG      IMAGE ID        CREATED          SIZE\n" +
		"docker.io/library/busybox            latest   af47096251092   3 weeks ago      2.16MB\n" +
		"docker.io/library/busybox            1.36     af47096251092   3 weeks ago      2.16MB\n" +
		"localhost:5000/ikubernetes/demoapp   v1.0     6698b205eb18f   2 hours ago      92.7MB\n" +
		"registry.k8s.io/pause                <none>   1234567890abc   N/A              321kB\n" +
		"<none>                               <none>   fedcba          30 seconds ago   512B\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestHumanSize(t *testing.T) {
	for size, want := range map[int64]string{0: "0B", 999: "999B", 1000: "1kB", 1234: "1.23kB",
		4_261_000: "4.26MB", 1_000_000_000: "1GB", 77_800_000: "77.8MB"} {
		if got := humanSize(size); got != want {
			t.Errorf("humanSize(%d) = %q, want %q", size, got, want)
		}
	}
}

func TestHumanAgo(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "Less than a second ago", time.Second: "1 second ago", 59 * time.Second: "59 seconds ago",
		time.Minute: "About a minute ago", 45 * time.Minute: "45 minutes ago", 40 * time.Minute * 2: "About an hour ago",
		5 * time.Hour: "5 hours ago", 3 * 24 * time.Hour: "3 days ago", 20 * 24 * time.Hour: "2 weeks ago",
		100 * 24 * time.Hour: "3 months ago", 3 * 365 * 24 * time.Hour: "3 years ago",
	} {
		if got := humanAgo(d); got != want {
			t.Errorf("humanAgo(%v) = %q, want %q", d, got, want)
		}
	}
}
