package printers

import (
	"io"
	"time"

	v1 "k8s.io/api/core/v1"
)

// PrintPods prints pods as `kubectl get pods` does.
func PrintPods(w io.Writer, pods []*v1.Pod, opts TableOptions, now time.Time) error { return nil }

// PodStatus is kubectl's STATUS column.
func PodStatus(pod *v1.Pod) string { return string(pod.Status.Phase) }

// PodReady is kubectl's READY column ("1/1").
func PodReady(pod *v1.Pod) string { return "0/0" }

// PodRestarts is kubectl's RESTARTS column ("0", "3 (5m ago)").
func PodRestarts(pod *v1.Pod, now time.Time) string { return "0" }
