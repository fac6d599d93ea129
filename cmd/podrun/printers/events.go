package printers

import (
	"io"
	"time"

	v1 "k8s.io/api/core/v1"
)

// PrintEventsTable prints events as `kubectl get events` does.
func PrintEventsTable(w io.Writer, events []v1.Event, now time.Time) error { return nil }
