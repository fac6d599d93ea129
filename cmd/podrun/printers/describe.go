package printers

import (
	"io"
	"time"

	v1 "k8s.io/api/core/v1"
)

// DescribePod prints pod as `kubectl describe pod` does.
func DescribePod(w io.Writer, pod *v1.Pod, events []v1.Event, now time.Time) error { return nil }
