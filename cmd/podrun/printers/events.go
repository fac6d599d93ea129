package printers

import (
	"fmt"
	"io"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
)

// eventTimes returns an event's first and last seen ages and its count, as kubectl's
// printEvent computes them for core/v1 events and for events.k8s.io series.
func eventTimes(e *v1.Event, now time.Time) (first, last string, count int32) {
	first = since(e.FirstTimestamp, now)
	if e.FirstTimestamp.IsZero() {
		first = sinceMicro(e.EventTime, now)
	}
	last = since(e.LastTimestamp, now)
	if e.LastTimestamp.IsZero() {
		last = first
	}
	count = e.Count
	if e.Series != nil {
		last = sinceMicro(e.Series.LastObservedTime, now)
		count = e.Series.Count
	} else if count == 0 {
		count = 1 // singleton events of the new API carry no count
	}
	return first, last, count
}

// PrintEventsTable prints events as `kubectl get events` does (LAST SEEN, TYPE, REASON, OBJECT,
// MESSAGE), in the given order, as kubectl keeps the server's order. An empty list prints
// nothing (kubectl then says "No resources found" on stderr).
func PrintEventsTable(w io.Writer, events []v1.Event, now time.Time) error {
	if len(events) == 0 {
		return nil
	}
	tw := newTableWriter(w)
	if err := writeRow(tw, []string{"LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"}); err != nil {
		return fmt.Errorf("print events header: %w", err)
	}
	for i := range events {
		e := &events[i]
		_, last, _ := eventTimes(e, now)
		object := strings.ToLower(e.InvolvedObject.Kind)
		if e.InvolvedObject.Name != "" {
			object += "/" + e.InvolvedObject.Name
		}
		if err := writeRow(tw, []string{last, e.Type, e.Reason, object, strings.TrimSpace(e.Message)}); err != nil {
			return fmt.Errorf("print event %s: %w", e.Name, err)
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("print events: %w", err)
	}
	return nil
}
