package pod

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	base, max := 10*time.Second, 300*time.Second
	t0 := time.Unix(0, 0)
	short := t0.Add(time.Second)
	var b backoff
	want := []time.Duration{0, 10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second,
		160 * time.Second, 300 * time.Second, 300 * time.Second}
	for i, w := range want {
		if got := b.next(base, max, t0, short); got != w {
			t.Errorf("restart %d: wait %v, want %v", i+1, got, w)
		}
	}
	// Ten minutes of clean running start the sequence over.
	if got := b.next(base, max, t0, t0.Add(10*time.Minute)); got != 0 {
		t.Errorf("after a long run: wait %v, want 0", got)
	}
	if got := b.next(base, max, t0, short); got != base {
		t.Errorf("then: wait %v, want %v", got, base)
	}
	// The kubelet's message prints the Go duration.
	if s := (160 * time.Second).String(); s != "2m40s" {
		t.Errorf("duration format %s", s)
	}
}
