package printers

import (
	"fmt"
	"io"
	"strconv"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// nodeUnreachablePodReason is the status.reason the node lifecycle controller sets on pods of
// a lost node (k8s.io/kubernetes pkg/util/node.NodeUnreachablePodReason).
const nodeUnreachablePodReason = "NodeLost"

// podSummary is what kubectl's printPod derives from one pod for READY, STATUS and RESTARTS.
type podSummary struct {
	ready, total int
	status       string
	restarts     int
	lastRestart  metav1.Time // zero when no container has a last termination
}

// isSidecar reports whether an init container is a native sidecar (restartPolicy: Always):
// kubectl counts those in READY and RESTARTS like app containers.
func isSidecar(c *v1.Container) bool {
	return c != nil && c.RestartPolicy != nil && *c.RestartPolicy == v1.ContainerRestartPolicyAlways
}

func conditionTrue(pod *v1.Pod, t v1.PodConditionType) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == t {
			return c.Status == v1.ConditionTrue
		}
	}
	return false
}

// later returns the later of cur and the finish time of a container's last termination.
func later(cur metav1.Time, st *v1.ContainerStatus) metav1.Time {
	if t := st.LastTerminationState.Terminated; t != nil && cur.Before(&t.FinishedAt) {
		return t.FinishedAt
	}
	return cur
}

// summarize follows kubectl's printPod (kubernetes pkg/printers/internalversion/printers.go)
// step by step, so that STATUS, READY and RESTARTS agree with kubectl on every pod shape.
func summarize(pod *v1.Pod) podSummary {
	s := podSummary{total: len(pod.Spec.Containers), status: string(pod.Status.Phase)}
	if pod.Status.Reason != "" {
		s.status = pod.Status.Reason
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == v1.PodScheduled && c.Reason == v1.PodReasonSchedulingGated {
			s.status = v1.PodReasonSchedulingGated
		}
	}

	initSpecs := make(map[string]*v1.Container, len(pod.Spec.InitContainers))
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		initSpecs[c.Name] = c
		if isSidecar(c) {
			s.total++
		}
	}

	// Init containers run in order: the first one that is not done decides the status.
	var sidecarRestarts int
	var lastSidecarRestart metav1.Time
	initializing := false
	for i := range pod.Status.InitContainerStatuses {
		st := &pod.Status.InitContainerStatuses[i]
		s.restarts += int(st.RestartCount)
		s.lastRestart = later(s.lastRestart, st)
		sidecar := isSidecar(initSpecs[st.Name])
		if sidecar {
			sidecarRestarts += int(st.RestartCount)
			lastSidecarRestart = later(lastSidecarRestart, st)
		}
		switch {
		case st.State.Terminated != nil && st.State.Terminated.ExitCode == 0:
			continue
		case sidecar && st.Started != nil && *st.Started:
			if st.Ready {
				s.ready++
			}
			continue
		case st.State.Terminated != nil:
			t := st.State.Terminated
			switch {
			case t.Reason != "":
				s.status = "Init:" + t.Reason
			case t.Signal != 0:
				s.status = fmt.Sprintf("Init:Signal:%d", t.Signal)
			default:
				s.status = fmt.Sprintf("Init:ExitCode:%d", t.ExitCode)
			}
		case st.State.Waiting != nil && st.State.Waiting.Reason != "" && st.State.Waiting.Reason != "PodInitializing":
			s.status = "Init:" + st.State.Waiting.Reason
		default:
			s.status = fmt.Sprintf("Init:%d/%d", i, len(pod.Spec.InitContainers))
		}
		initializing = true
		break
	}

	if !initializing || conditionTrue(pod, v1.PodInitialized) {
		// Once initialized, only sidecar restarts still count from the init containers.
		s.restarts, s.lastRestart = sidecarRestarts, lastSidecarRestart
		hasRunning := false
		// kubectl walks the app containers backwards, so the first container's reason wins.
		for i := len(pod.Status.ContainerStatuses) - 1; i >= 0; i-- {
			st := &pod.Status.ContainerStatuses[i]
			s.restarts += int(st.RestartCount)
			s.lastRestart = later(s.lastRestart, st)
			switch {
			case st.State.Waiting != nil && st.State.Waiting.Reason != "":
				s.status = st.State.Waiting.Reason
			case st.State.Terminated != nil && st.State.Terminated.Reason != "":
				s.status = st.State.Terminated.Reason
			case st.State.Terminated != nil && st.State.Terminated.Signal != 0:
				s.status = fmt.Sprintf("Signal:%d", st.State.Terminated.Signal)
			case st.State.Terminated != nil:
				s.status = fmt.Sprintf("ExitCode:%d", st.State.Terminated.ExitCode)
			case st.Ready && st.State.Running != nil:
				hasRunning = true
				s.ready++
			}
		}
		// A completed container next to a running one: the pod is still running.
		if s.status == "Completed" && hasRunning {
			if conditionTrue(pod, v1.PodReady) {
				s.status = "Running"
			} else {
				s.status = "NotReady"
			}
		}
	}

	if pod.DeletionTimestamp != nil {
		if pod.Status.Reason == nodeUnreachablePodReason {
			s.status = "Unknown"
		} else if pod.Status.Phase != v1.PodFailed && pod.Status.Phase != v1.PodSucceeded {
			s.status = "Terminating"
		}
	}
	return s
}

// PodStatus is kubectl's STATUS column.
func PodStatus(pod *v1.Pod) string { return summarize(pod).status }

// PodReady is kubectl's READY column ("1/1"); native sidecars count as containers.
func PodReady(pod *v1.Pod) string {
	s := summarize(pod)
	return fmt.Sprintf("%d/%d", s.ready, s.total)
}

// PodRestarts is kubectl's RESTARTS column: "0", or "3 (5m ago)" where the time is the most
// recent finishedAt among the containers' last terminations.
func PodRestarts(pod *v1.Pod, now time.Time) string {
	s := summarize(pod)
	if s.restarts != 0 && !s.lastRestart.IsZero() {
		return fmt.Sprintf("%d (%s ago)", s.restarts, since(s.lastRestart, now))
	}
	return strconv.Itoa(s.restarts)
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

// readinessGates is the READINESS GATES column: "<none>" or "<true gates>/<gates>".
func readinessGates(pod *v1.Pod) string {
	if len(pod.Spec.ReadinessGates) == 0 {
		return "<none>"
	}
	n := 0
	for _, g := range pod.Spec.ReadinessGates {
		for _, c := range pod.Status.Conditions {
			if c.Type == g.ConditionType {
				if c.Status == v1.ConditionTrue {
					n++
				}
				break
			}
		}
	}
	return fmt.Sprintf("%d/%d", n, len(pod.Spec.ReadinessGates))
}

// PrintPods prints pods as `kubectl get pods` does, in the given order. Nothing at all is
// printed for an empty list: kubectl then says "No resources found in <ns> namespace." on
// stderr, which is the caller's job.
func PrintPods(w io.Writer, pods []*v1.Pod, opts TableOptions, now time.Time) error {
	if len(pods) == 0 {
		return nil
	}
	tw := newTableWriter(w)
	if !opts.NoHeaders {
		h := []string{"NAME", "READY", "STATUS", "RESTARTS", "AGE"}
		if opts.WithNamespace {
			h = append([]string{"NAMESPACE"}, h...)
		}
		if opts.Wide {
			h = append(h, "IP", "NODE", "NOMINATED NODE", "READINESS GATES")
		}
		if opts.ShowLabels {
			h = append(h, "LABELS")
		}
		if err := writeRow(tw, h); err != nil {
			return fmt.Errorf("print pods header: %w", err)
		}
	}
	for _, pod := range pods {
		if pod == nil {
			continue
		}
		s := summarize(pod)
		restarts := strconv.Itoa(s.restarts)
		if s.restarts != 0 && !s.lastRestart.IsZero() {
			restarts = fmt.Sprintf("%d (%s ago)", s.restarts, since(s.lastRestart, now))
		}
		var row []string
		if opts.WithNamespace {
			row = append(row, pod.Namespace)
		}
		row = append(row, pod.Name, fmt.Sprintf("%d/%d", s.ready, s.total), s.status, restarts,
			since(pod.CreationTimestamp, now))
		if opts.Wide {
			ip := ""
			if len(pod.Status.PodIPs) > 0 {
				ip = pod.Status.PodIPs[0].IP
			}
			row = append(row, orNone(ip), orNone(pod.Spec.NodeName),
				orNone(pod.Status.NominatedNodeName), readinessGates(pod))
		}
		if opts.ShowLabels {
			row = append(row, labels.FormatLabels(pod.Labels))
		}
		if err := writeRow(tw, row); err != nil {
			return fmt.Errorf("print pod %s: %w", pod.Name, err)
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("print pods: %w", err)
	}
	return nil
}
