package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
)

func (c *cli) newCreateCmd() *cobra.Command {
	var files []string
	var saveConfig bool
	cmd := &cobra.Command{
		Use:   "create -f FILENAME",
		Short: "Create the pods of a file (or stdin with -f -)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			// --save-config annotates the pods: they must be decoded in full.
			pods, err := c.readPods(files, cmd.Flags().Changed("namespace"), !saveConfig)
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
// does, and goes on after a failure; it returns the names of the created pods and failed when
// any failed. A pod sent as read gets only its names decoded back (the first v1.Pod decode is
// a fresh CLI's costliest step, and no caller needs more).
func (c *cli) createPods(ctx context.Context, pods []*v1.Pod) ([]types.NamespacedName, error) {
	cl := c.client()
	var created []types.NamespacedName
	ok := true
	for _, p := range pods {
		var got struct {
			Metadata struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"metadata"`
		}
		var err error
		check := c.checks[p]
		switch b := c.read[p]; {
		case b != nil:
			err = cl.CreatePodJSONInto(ctx, p.Namespace, b, &got)
		case check != nil:
			err = fmt.Errorf("pod %s was not decoded", p.Name) // a deferred pod is sent as read
		default:
			var full *v1.Pod
			if full, err = cl.CreatePod(ctx, p.Namespace, p); err == nil {
				got.Metadata.Name, got.Metadata.Namespace = full.Name, full.Namespace
			}
		}
		if check != nil && (apierrors.IsBadRequest(err) || isUnreachable(err)) {
			// The daemon refused what the file says: the full decode places it on its line.
			// Without a daemon, a bad file is still reported as such (and `run` starts none).
			if cerr := check(); cerr != nil {
				err = cerr
			}
		}
		if err != nil {
			if isUnreachable(err) {
				return created, err
			}
			c.printErr(err)
			ok = false
			continue
		}
		fmt.Fprintf(c.out, "pod/%s created\n", got.Metadata.Name)
		created = append(created, types.NamespacedName{Namespace: got.Metadata.Namespace, Name: got.Metadata.Name})
	}
	if !ok {
		return created, failed
	}
	return created, nil
}
