package main

import (
	"fmt"

	"github.com/spf13/cobra"
	v1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/cmd/podrun/printers"
)

func (c *cli) newDescribeCmd() *cobra.Command {
	var selector string
	cmd := &cobra.Command{
		Use:   "describe pod NAME...",
		Short: "Show the details of pods, with their events",
		RunE: func(cmd *cobra.Command, args []string) error {
			names, err := podNames("describe", args)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			cl := c.client()
			var pods []*v1.Pod
			ok := true
			if len(names) == 0 {
				l, err := cl.ListPods(ctx, c.namespace, api.ListOptions{LabelSelector: selector})
				if err != nil {
					return err
				}
				for i := range l.Items {
					pods = append(pods, &l.Items[i])
				}
				if len(pods) == 0 {
					fmt.Fprintf(c.errOut, "No resources found in %s namespace.\n", c.namespace)
					return nil
				}
			}
			for _, n := range names {
				p, err := cl.GetPod(ctx, c.namespace, n)
				if err != nil {
					if isUnreachable(err) {
						return err
					}
					c.printErr(err)
					ok = false
					continue
				}
				pods = append(pods, p)
			}
			for i, p := range pods {
				evs, err := cl.PodEvents(ctx, p.Namespace, p.Name)
				if err != nil {
					return err
				}
				if i > 0 {
					fmt.Fprintln(c.out)
					fmt.Fprintln(c.out)
				}
				if err := printers.DescribePod(c.out, p, evs.Items, c.now()); err != nil {
					return err
				}
			}
			if !ok {
				return failed
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&selector, "selector", "l", "", "label selector (when no NAME is given)")
	return cmd
}
