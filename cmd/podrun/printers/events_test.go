package printers

import (
	"bytes"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestPrintEventsTable(t *testing.T) {
	_, events, now := richPod()
	events = append(events,
		// events.k8s.io style: eventTime and a series instead of timestamps and count.
		v1.Event{Type: "Warning", Reason: "Unhealthy", Message: "Liveness probe failed: ",
			InvolvedObject: v1.ObjectReference{Kind: "Pod", Name: "web"},
			EventTime:      metav1.NewMicroTime(now.Add(-2 * time.Minute)),
			Series:         &v1.EventSeries{Count: 4, LastObservedTime: metav1.NewMicroTime(now.Add(-5 * time.Second))}},
		v1.Event{Type: "Normal", Reason: "Starting", Message: "podrun started",
			InvolvedObject: v1.ObjectReference{Kind: "Node"},
			EventTime:      metav1.NewMicroTime(now.Add(-3 * time.Hour))},
	)
	var b bytes.Buffer
	if err := PrintEventsTable(&b, events, now); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"LAST SEEN   TYPE      REASON      OBJECT    MESSAGE\n" +
		"10s         Warning   BackOff     pod/web   Back-off restarting failed container app in pod web_prod(1234)\n" +
		"10m         Normal    Scheduled   pod/web   Successfully assigned prod/web to host1\n" +
		"10m         Normal    Pulled      pod/web   Container image \"busybox\" already present on machine\n" +
		"5s          Warning   Unhealthy   pod/web   Liveness probe failed:\n" +
		"3h          Normal    Starting    node      podrun started\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	if err := PrintEventsTable(&b, nil, now); err != nil || b.Len() != 0 {
		t.Errorf("empty: %q %v", b.String(), err)
	}
}

// describe's events table: "x3 over 4m" for counted events and for series.
func TestDescribeEventsSeries(t *testing.T) {
	now := mtime("2026-11-28T14:10:00Z").Time
	p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Spec: v1.PodSpec{Containers: []v1.Container{{Name: "c"}}}}
	events := []v1.Event{{Type: "Warning", Reason: "Unhealthy", Message: "probe failed",
		ReportingController: "podrun",
		EventTime:           metav1.NewMicroTime(now.Add(-4 * time.Minute)),
		Series:              &v1.EventSeries{Count: 7, LastObservedTime: metav1.NewMicroTime(now.Add(-3 * time.Second))}}}
	var b bytes.Buffer
	if err := DescribePod(&b, p, events, now); err != nil {
		t.Fatal(err)
	}
	want := "Events:\n" +
		"  Type     Reason     Age              From    Message\n" +
		"  ----     ------     ----             ----    -------\n" +
		"  Warning  Unhealthy  3s (x7 over 4m)  podrun  probe failed\n"
	if got := b.String(); len(got) < len(want) || got[len(got)-len(want):] != want {
		t.Errorf("got:\n%s\nwant suffix:\n%s", got, want)
	}
}
