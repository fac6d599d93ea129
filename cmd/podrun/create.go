package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	v1 "k8s.io/api/core/v1"
)

func (c *cli) newCreateCmd() *cobra.Command {
	var files []string
	var saveConfig bool
	cmd := &cobra.Command{
		Use:   "create -f FILENAME",
		Short: "Create the pods of a file (or stdin with -f -)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			pods, err := c.readPods(files, cmd.Flags().Changed("namespace"))
			if err != nil {
				return err
			}
			if saveConfig {
				// As kubectl create --save-config: a later apply can tell "unchanged".
				for _, p := range pods {
					applied, err := lastApplied(p)
					if err != nil {
						return err
					}
					if p.Annotations == nil {
						p.Annotations = map[string]string{}
					}
					p.Annotations[lastAppliedAnnotation] = applied
					delete(c.read, p) // changed: sent as a v1.Pod
				}
			}
			if _, err := c.createPods(cmd.Context(), pods); err != nil {
				return err
			}
			return nil
		},
	}
	cmd.Flags().StringSliceVarP(&files, "filename", "f", nil, "the files that contain the pods to create (- for stdin)")
	cmd.Flags().BoolVar(&saveConfig, "save-config", false, "save the configuration in an annotation, for a later apply")
	return cmd
}

// createPods creates each pod, printing "pod/NAME created" or the error of each as kubectl
// does, and goes on after a failure; it returns the created pods and failed when any failed.
func (c *cli) createPods(ctx context.Context, pods []*v1.Pod) ([]*v1.Pod, error) {
	cl := c.client()
	var created []*v1.Pod
	ok := true
	for _, p := range pods {
		var got *v1.Pod
		var err error
		if b := c.read[p]; b != nil {
			got, err = cl.CreatePodJSON(ctx, p.Namespace, b)
		} else {
			got, err = cl.CreatePod(ctx, p.Namespace, p)
		}
		if err != nil {
			if isUnreachable(err) {
				return created, err
			}
			c.printErr(err)
			ok = false
			continue
		}
		fmt.Fprintf(c.out, "pod/%s created\n", got.Name)
		created = append(created, got)
	}
	if !ok {
		return created, failed
	}
	return created, nil
}
