package main

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/spf13/cobra"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// lastAppliedAnnotation is where apply keeps what it applied, as kubectl does, so that a
// second apply of the same file can tell "unchanged" from a change.
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

func (c *cli) newApplyCmd() *cobra.Command {
	var files []string
	cmd := &cobra.Command{
		Use:   "apply -f FILENAME",
		Short: "Create the pods of a file, or say they are unchanged",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			pods, err := c.readPods(files, cmd.Flags().Changed("namespace"), false)
			if err != nil {
				return err
			}
			ok := true
			for _, p := range pods {
				if err := c.applyPod(cmd.Context(), p); err != nil {
					if isUnreachable(err) {
						return err
					}
					c.printErr(err)
					ok = false
				}
			}
			if !ok {
				return failed
			}
			return nil
		},
	}
	cmd.Flags().StringSliceVarP(&files, "filename", "f", nil, "the files that contain the pods to apply (- for stdin)")
	return cmd
}

func (c *cli) applyPod(ctx context.Context, p *v1.Pod) error {
	cl := c.client()
	applied, err := lastApplied(p)
	if err != nil {
		return err
	}
	cur, err := cl.GetPod(ctx, p.Namespace, p.Name)
	if apierrors.IsNotFound(err) {
		p = p.DeepCopy()
		if p.Annotations == nil {
			p.Annotations = map[string]string{}
		}
		p.Annotations[lastAppliedAnnotation] = applied
		got, err := cl.CreatePod(ctx, p.Namespace, p)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.out, "pod/%s created\n", got.Name)
		return nil
	}
	if err != nil {
		return err
	}
	prev, ok := cur.Annotations[lastAppliedAnnotation]
	same := ok && prev == applied
	if !ok {
		fmt.Fprintf(c.errOut, "Warning: resource pods/%s is missing the %s annotation which is required by podrun apply. podrun apply should only be used on resources created declaratively by either podrun create --save-config or podrun apply.\n", p.Name, lastAppliedAnnotation)
		same = sameUserFields(p, cur)
	}
	if same {
		fmt.Fprintf(c.out, "pod/%s unchanged\n", p.Name)
		return nil
	}
	return fmt.Errorf("The Pod %q is invalid: spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative); podrun does not update pods in place yet: delete it first (podrun delete pod %s)", p.Name, p.Name)
}

// lastApplied is the annotation value: the object as the file gave it (without the
// annotation itself), in Go's JSON field order so that equal files give equal strings.
func lastApplied(p *v1.Pod) (string, error) {
	q := p.DeepCopy()
	delete(q.Annotations, lastAppliedAnnotation)
	if len(q.Annotations) == 0 {
		q.Annotations = nil
	}
	q.APIVersion, q.Kind = "v1", "Pod"
	b, err := json.Marshal(q)
	if err != nil {
		return "", fmt.Errorf("encode pod %s: %w", p.Name, err)
	}
	return string(b), nil
}

// sameUserFields compares what a file sets that defaulting never changes: labels,
// annotations, container names and images.
func sameUserFields(want, cur *v1.Pod) bool {
	names := func(cs []v1.Container) [][2]string {
		var out [][2]string
		for _, c := range cs {
			out = append(out, [2]string{c.Name, c.Image})
		}
		return out
	}
	curAnn := map[string]string{}
	for k, v := range cur.Annotations {
		if k != lastAppliedAnnotation {
			curAnn[k] = v
		}
	}
	wantAnn := map[string]string{}
	for k, v := range want.Annotations {
		wantAnn[k] = v
	}
	return reflect.DeepEqual(names(want.Spec.Containers), names(cur.Spec.Containers)) &&
		reflect.DeepEqual(names(want.Spec.InitContainers), names(cur.Spec.InitContainers)) &&
		reflect.DeepEqual(labelsOrEmpty(want.Labels), labelsOrEmpty(cur.Labels)) &&
		reflect.DeepEqual(wantAnn, curAnn)
}

func labelsOrEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
