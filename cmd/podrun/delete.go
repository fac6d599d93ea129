package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/podrun/podrun/api"
)

const forceWarning = "Warning: Immediate deletion does not wait for confirmation that the running resource has been terminated. The resource may continue to run on the cluster indefinitely."

type deleteOptions struct {
	files       []string
	all         bool
	selector    string
	gracePeriod int
	force       bool
	now         bool
	wait        bool
	timeout     time.Duration
}

func (c *cli) newDeleteCmd() *cobra.Command {
	var o deleteOptions
	cmd := &cobra.Command{
		Use:   "delete (pod NAME... | -f FILE | pods --all | pods -l SELECTOR) [--grace-period N] [--force]",
		Short: "Delete pods: preStop hooks, stop signal, grace period, then everything the pod made",
		Example: `  podrun delete pod mypod
  podrun delete -f mypod.yaml --grace-period 5
  podrun delete pods --all --force`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if o.now {
				if cmd.Flags().Changed("grace-period") {
					return fmt.Errorf("--now and --grace-period cannot be specified together")
				}
				o.gracePeriod = 1
			}
			// kubectl's rules: 0 without --force means 1 (no accidental data loss); --force
			// without a grace period means 0.
			if o.gracePeriod == 0 && !o.force {
				o.gracePeriod = 1
			}
			if o.force && o.gracePeriod < 0 {
				o.gracePeriod = 0
			}
			var targets []*v1.Pod
			switch {
			case len(o.files) > 0:
				if len(args) > 0 {
					return fmt.Errorf("resource(s) were provided, but no name was specified")
				}
				pods, err := c.readPods(o.files, cmd.Flags().Changed("namespace"), false)
				if err != nil {
					return err
				}
				targets = pods
			default:
				names, err := podNames("delete", args)
				if err != nil {
					return err
				}
				if len(names) > 0 && (o.all || o.selector != "") {
					return fmt.Errorf("name cannot be provided when a selector is specified")
				}
				if len(names) == 0 {
					if !o.all && o.selector == "" {
						return fmt.Errorf("resource(s) were provided, but no name was specified")
					}
					if _, err := labels.Parse(o.selector); err != nil {
						return fmt.Errorf("invalid label selector %q: %v", o.selector, err)
					}
					l, err := c.client().ListPods(ctx, c.namespace, api.ListOptions{LabelSelector: o.selector})
					if err != nil {
						return err
					}
					if len(l.Items) == 0 {
						fmt.Fprintln(c.errOut, "No resources found")
						return nil
					}
					for i := range l.Items {
						targets = append(targets, &l.Items[i])
					}
				}
				for _, n := range names {
					targets = append(targets, &v1.Pod{})
					targets[len(targets)-1].Name, targets[len(targets)-1].Namespace = n, c.namespace
				}
			}
			return c.deletePods(ctx, targets, o)
		},
	}
	f := cmd.Flags()
	f.StringSliceVarP(&o.files, "filename", "f", nil, "delete the pods of these files (- for stdin)")
	f.BoolVar(&o.all, "all", false, "delete every pod of the namespace")
	f.StringVarP(&o.selector, "selector", "l", "", "delete the pods matching this label selector")
	f.IntVar(&o.gracePeriod, "grace-period", -1, "seconds given to the pod to terminate gracefully; -1 uses the pod's terminationGracePeriodSeconds")
	f.BoolVar(&o.force, "force", false, "kill at once (grace period 0) and do not wait for the pod to be gone")
	f.BoolVar(&o.now, "now", false, "same as --grace-period=1")
	f.BoolVar(&o.wait, "wait", true, "wait until the pods are gone before returning")
	f.DurationVar(&o.timeout, "timeout", 0, "how long to wait for the pods to be gone; 0 picks the grace period plus a minute")
	return cmd
}

func (c *cli) deletePods(ctx context.Context, targets []*v1.Pod, o deleteOptions) error {
	cl := c.client()
	opts := api.DeleteOptions{Force: o.force}
	if o.gracePeriod >= 0 {
		g := int64(o.gracePeriod)
		opts.GracePeriodSeconds = &g
	}
	if o.force && o.gracePeriod == 0 {
		fmt.Fprintln(c.errOut, forceWarning)
	}
	// With --all or a selector the targets come from a list; a pod that vanished since
	// (a force deletion finishing) is not an error, as with kubectl's --ignore-not-found default.
	ignoreNotFound := o.all || o.selector != ""
	ok := true
	var deleted []*v1.Pod
	for _, t := range targets {
		p, err := cl.DeletePod(ctx, t.Namespace, t.Name, opts)
		if err != nil {
			if isUnreachable(err) {
				return err
			}
			if ignoreNotFound && apierrors.IsNotFound(err) {
				continue
			}
			c.printErr(err)
			ok = false
			continue
		}
		if o.force && o.gracePeriod == 0 {
			fmt.Fprintf(c.out, "pod %q force deleted\n", t.Name)
		} else {
			fmt.Fprintf(c.out, "pod %q deleted\n", t.Name)
		}
		deleted = append(deleted, p)
	}
	// An immediate deletion does not wait for confirmation, as the warning says.
	if o.wait && !(o.force && o.gracePeriod == 0) {
		for _, p := range deleted {
			if err := c.waitGone(ctx, p, o); err != nil {
				if isUnreachable(err) {
					return err
				}
				c.printErr(err)
				ok = false
			}
		}
	}
	if !ok {
		return failed
	}
	return nil
}

// waitGone polls until the pod is NotFound.
func (c *cli) waitGone(ctx context.Context, p *v1.Pod, o deleteOptions) error {
	timeout := o.timeout
	if timeout == 0 {
		grace := int64(30)
		if p.DeletionGracePeriodSeconds != nil {
			grace = *p.DeletionGracePeriodSeconds
		} else if p.Spec.TerminationGracePeriodSeconds != nil {
			grace = *p.Spec.TerminationGracePeriodSeconds
		}
		if o.gracePeriod >= 0 {
			grace = int64(o.gracePeriod)
		}
		timeout = time.Duration(grace)*time.Second + time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cl := c.client()
	for {
		_, err := cl.GetPod(ctx, p.Namespace, p.Name)
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil && ctx.Err() == nil {
			return err
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("timed out waiting for the condition on pods/%s", p.Name)
			}
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
