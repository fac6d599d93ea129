package probe

import "testing"

func TestResults(t *testing.T) {
	r := NewResults(Readiness, 10)
	if _, ok := r.Get("c1"); ok {
		t.Fatal("empty Results has a result")
	}
	steps := []struct {
		set        Result
		wantUpdate bool
		want       Result
	}{
		{Failure, true, Failure},
		{Failure, false, Failure},
		{Success, true, Success},
		{Warning, false, Success}, // a warning is a success
		{Failure, true, Failure},
	}
	for i, s := range steps {
		r.Set("c1", "uid-1", s.set, "out")
		ups := drain(r)
		if got := len(ups) == 1; got != s.wantUpdate || len(ups) > 1 {
			t.Fatalf("step %d: %d updates, want update=%v", i, len(ups), s.wantUpdate)
		}
		if s.wantUpdate && (ups[0] != Update{ContainerID: "c1", PodUID: "uid-1", ProbeType: Readiness, Result: s.want, Message: "out"}) {
			t.Fatalf("step %d: update %+v", i, ups[0])
		}
		if got, _ := r.Get("c1"); got != s.want {
			t.Fatalf("step %d: Get = %v, want %v", i, got, s.want)
		}
	}
	r.Remove("c1")
	if _, ok := r.Get("c1"); ok || len(drain(r)) != 0 {
		t.Fatal("Remove kept the result or sent an update")
	}
}
