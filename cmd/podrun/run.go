package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/cmd/podrun/printers"
)

// daemonStartTimeout bounds how long `run` waits for the daemon it started to answer.
const daemonStartTimeout = 10 * time.Second

func (c *cli) newRunCmd() *cobra.Command {
	var wait bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "run FILE",
		Short: "Run the pods of a file, starting the daemon in the background if none answers",
		Long: "Run creates every pod of FILE (\"-\" for stdin). When no daemon answers on the socket it\n" +
			"starts `podrun daemon` in the background first. With --wait it returns when every pod is\n" +
			"Running with all containers ready, or has Succeeded (exit 0), or has Failed (exit 1).",
		Args: cobra.ExactArgs(1),
		Example: `  podrun run examples/mypod.yaml
  podrun run --wait --timeout 2m examples/mypod.yaml`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			pods, err := c.readPods(args, cmd.Flags().Changed("namespace"), true)
			if err != nil {
				return err
			}
			// No daemon answering is learnt from the first create (a ping first cost every
			// run a round trip): then one is started and the creates are sent again.
			created, cerr := c.createPods(ctx, pods)
			if isUnreachable(cerr) && len(created) == 0 && !socketRefusesUs(c.socket) {
				if err := c.startDaemon(ctx, c); err != nil {
					return err
				}
				created, cerr = c.createPods(ctx, pods)
			}
			if cerr != nil && (!wait || len(created) == 0) {
				return cerr
			}
			if !wait {
				return nil
			}
			if err := c.waitPods(ctx, created, timeout); err != nil {
				return err
			}
			return cerr
		},
	}
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until every pod is Running and ready, Succeeded or Failed")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "how long --wait waits")
	return cmd
}

// waitPods waits until each pod is Running with all containers ready, Succeeded or Failed.
// A Failed pod is reported with its reason and makes the result failed.
func (c *cli) waitPods(ctx context.Context, pods []types.NamespacedName, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cl := c.client()
	anyFailed := false
	for _, p := range pods {
		failedMsg, status, err := waitPod(ctx, cl, p)
		if err != nil {
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("timed out after %v waiting for pod/%s to be Running (STATUS %s)", timeout, p.Name, status)
			}
			return err
		}
		if failedMsg != "" {
			fmt.Fprintf(c.errOut, "error: pod/%s failed: %s\n", p.Name, failedMsg)
			anyFailed = true
		}
	}
	if anyFailed {
		return failed
	}
	return nil
}

// waitPod follows one pod until podSettled says it is done. It watches the pod (opened
// before the first read, so no change falls between the two) and re-reads it every second as
// a safety net; without a watch it polls. It returns the failure message, if any, and the
// STATUS of the last pod seen when it gives up. The pod's JSON is decoded into a podProgress
// only; a v1.Pod (a fresh CLI's costliest decode) only to explain a failure or a give-up.
func waitPod(ctx context.Context, cl *api.Client, p types.NamespacedName) (string, string, error) {
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	events, werr := cl.WatchPodsRaw(wctx, p.Namespace, api.ListOptions{FieldSelector: "metadata.name=" + p.Name})
	reread := time.Second
	if werr != nil {
		events, reread = nil, 50*time.Millisecond
	}
	var cur json.RawMessage
	status := func() string {
		if full, err := api.DecodePod(cur); err == nil {
			return printers.PodStatus(full)
		}
		return "Pending"
	}
	err := cl.GetPodInto(ctx, p.Namespace, p.Name, &cur)
	for {
		if err != nil {
			return "", status(), err
		}
		var pp podProgress
		if err := json.Unmarshal(cur, &pp); err != nil {
			return "", "Pending", fmt.Errorf("decode pod/%s: %w", p.Name, err)
		}
		if done, failedPod := podSettled(&pp); done {
			if !failedPod {
				return "", "", nil
			}
			full, err := api.DecodePod(cur)
			if err != nil {
				return "", "Failed", fmt.Errorf("decode pod/%s: %w", p.Name, err)
			}
			return failureReason(full), "", nil
		}
		select {
		case ev, ok := <-events:
			if !ok {
				events, reread = nil, 50*time.Millisecond
				continue
			}
			if ev.Type == watch.Deleted {
				return "", status(), fmt.Errorf("pod/%s was deleted while waiting for it", p.Name)
			}
			cur = ev.Object
		case <-time.After(reread):
			err = cl.GetPodInto(ctx, p.Namespace, p.Name, &cur)
		case <-ctx.Done():
			return "", status(), ctx.Err()
		}
	}
}

// podProgress is what podSettled reads of a pod.
type podProgress struct {
	Spec struct {
		Containers []struct{} `json:"containers"`
	} `json:"spec"`
	Status struct {
		Phase      v1.PodPhase `json:"phase"`
		Conditions []struct {
			Type   v1.PodConditionType `json:"type"`
			Status v1.ConditionStatus  `json:"status"`
		} `json:"conditions"`
		ContainerStatuses []struct {
			Ready bool `json:"ready"`
		} `json:"containerStatuses"`
	} `json:"status"`
}

// podSettled says whether --wait is over for a pod, and whether it failed.
func podSettled(p *podProgress) (done, failedPod bool) {
	switch p.Status.Phase {
	case v1.PodSucceeded:
		return true, false
	case v1.PodFailed:
		return true, true
	case v1.PodRunning:
		for _, c := range p.Status.Conditions {
			if c.Type == v1.PodReady && c.Status == v1.ConditionTrue {
				return true, false
			}
		}
		// Without conditions yet, every container ready is the same answer.
		if len(p.Status.ContainerStatuses) == len(p.Spec.Containers) && len(p.Spec.Containers) > 0 {
			for _, cs := range p.Status.ContainerStatuses {
				if !cs.Ready {
					return false, false
				}
			}
			return true, false
		}
	}
	return false, false
}

// failureReason names what made a pod fail: its status reason/message, else the first
// container that ended with an error.
func failureReason(p *v1.Pod) string {
	if p.Status.Reason != "" || p.Status.Message != "" {
		return joinNonEmpty(p.Status.Reason, p.Status.Message)
	}
	for _, sts := range [][]v1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
		for _, cs := range sts {
			if t := cs.State.Terminated; t != nil && t.ExitCode != 0 {
				msg := fmt.Sprintf("container %s exited with code %d", cs.Name, t.ExitCode)
				if t.Reason != "" {
					msg += " (" + t.Reason + ")"
				}
				if t.Message != "" {
					msg += ": " + t.Message
				}
				return msg
			}
		}
	}
	return "STATUS " + printers.PodStatus(p)
}

func joinNonEmpty(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + ": " + b
}

// startDaemonProcess starts `podrun daemon` in its own session, detached from this terminal,
// with the same socket (and --root/--state from PODRUN_ROOT/PODRUN_STATE), logging to
// <state>/daemon.log or /var/log/podrun.log, and waits until it answers.
func startDaemonProcess(ctx context.Context, c *cli) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("start the podrun daemon: %w", err)
	}
	args := []string{"daemon", "--socket", c.socket}
	logPath := "/var/log/podrun.log"
	if root := c.getenv("PODRUN_ROOT"); root != "" {
		args = append(args, "--root", root)
	}
	if state := c.getenv("PODRUN_STATE"); state != "" {
		args = append(args, "--state", state)
		logPath = filepath.Join(state, "daemon.log")
	}
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return fmt.Errorf("start the podrun daemon: %w", err)
	}
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("start the podrun daemon: log file: %w", err)
	}
	defer logf.Close()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return fmt.Errorf("start the podrun daemon: %w", err)
	}
	defer devnull.Close()
	cmd := exec.Command(self, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, logf, logf
	// Its own session: the daemon outlives this command and its terminal's signals.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start the podrun daemon: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	fmt.Fprintf(c.errOut, "Started the podrun daemon (pid %d, log %s)\n", cmd.Process.Pid, logPath)
	deadline := time.After(daemonStartTimeout)
	for {
		if api.Alive(c.socket) {
			return nil
		}
		select {
		case err := <-exited:
			return fmt.Errorf("the podrun daemon exited at start (%v): see %s", err, logPath)
		case <-deadline:
			return fmt.Errorf("the podrun daemon (pid %d) did not answer on %s within %v: see %s", cmd.Process.Pid, c.socket, daemonStartTimeout, logPath)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func isUnreachable(err error) bool {
	var ue *api.UnreachableError
	return errors.As(err, &ue)
}

// socketRefusesUs reports whether the daemon's socket exists but this user may not connect
// (not root, not in --socket-group): a daemon is there, so `run` must not start another; the
// request then fails with the permission error.
func socketRefusesUs(socket string) bool {
	conn, err := net.Dial("unix", socket)
	if err == nil {
		conn.Close()
		return false
	}
	return errors.Is(err, fs.ErrPermission)
}
