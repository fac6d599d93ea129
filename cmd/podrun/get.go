package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/watch"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/cmd/podrun/printers"
)

type getOptions struct {
	output        string
	selector      string
	fieldSelector string
	allNamespaces bool
	showLabels    bool
	noHeaders     bool
	watch         bool
}

func (c *cli) newGetCmd() *cobra.Command {
	var o getOptions
	cmd := &cobra.Command{
		Use:   "get pods [NAME...] [-o wide|name|json|yaml] [-l selector] [-A] [--show-labels] [-w]",
		Short: "Display pods",
		Example: `  podrun get pods
  podrun get pods -o wide --show-labels
  podrun get pod mypod -o yaml
  podrun get pods -l app=mypod -A -o name
  podrun get pods -w`,
		RunE: func(cmd *cobra.Command, args []string) error {
			names, err := podNames("get", args)
			if err != nil {
				return err
			}
			switch o.output {
			case "", "wide", "name", "json", "yaml":
			default:
				return fmt.Errorf("unable to match a printer suitable for the output format %q, allowed formats are: json,name,wide,yaml", o.output)
			}
			if o.allNamespaces && len(names) > 0 {
				return fmt.Errorf("a resource cannot be retrieved by name across all namespaces")
			}
			if _, err := labels.Parse(o.selector); err != nil {
				return fmt.Errorf("invalid label selector %q: %v", o.selector, err)
			}
			return c.get(cmd.Context(), names, o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.output, "output", "o", "", "output format: wide, name, json or yaml")
	f.StringVarP(&o.selector, "selector", "l", "", "label selector to filter on (e.g. -l app=mypod,release!=canary)")
	f.StringVar(&o.fieldSelector, "field-selector", "", "field selector to filter on (e.g. status.phase=Running)")
	f.BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "list the pods of every namespace")
	f.BoolVar(&o.showLabels, "show-labels", false, "show all labels as the last column")
	f.BoolVar(&o.noHeaders, "no-headers", false, "do not print headers")
	f.BoolVarP(&o.watch, "watch", "w", false, "after listing, watch for changes")
	return cmd
}

func (c *cli) get(ctx context.Context, names []string, o getOptions) error {
	cl := c.client()
	ns := c.namespace
	if o.allNamespaces {
		ns = ""
	}
	lo := api.ListOptions{LabelSelector: o.selector, FieldSelector: o.fieldSelector}
	if len(names) == 1 && o.watch {
		lo.FieldSelector = "metadata.name=" + names[0]
	}
	var events <-chan api.PodEvent
	if o.watch {
		// Watch first, then list: nothing that happens in between is missed.
		ch, err := cl.WatchPods(ctx, ns, lo)
		if err != nil {
			return err
		}
		events = ch
	}

	var pods []*v1.Pod
	ok := true
	if len(names) > 0 {
		for _, n := range names {
			p, err := cl.GetPod(ctx, ns, n)
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
	} else {
		l, err := cl.ListPods(ctx, ns, lo)
		if err != nil {
			return err
		}
		for i := range l.Items {
			pods = append(pods, &l.Items[i])
		}
	}
	single := len(names) == 1
	if len(names) == 0 && len(pods) == 0 && (o.output == "" || o.output == "wide" || o.output == "name") {
		if !o.watch {
			if o.allNamespaces {
				fmt.Fprintln(c.errOut, "No resources found")
			} else {
				fmt.Fprintf(c.errOut, "No resources found in %s namespace.\n", c.namespace)
			}
		}
	} else if len(pods) > 0 || len(names) == 0 {
		if err := c.printPods(pods, o, single && len(pods) == 1, o.noHeaders); err != nil {
			return err
		}
	}
	if o.watch {
		for {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case ev, open := <-events:
				if !open {
					return ctx.Err()
				}
				if ev.Type == watch.Error || ev.Type == watch.Bookmark {
					continue
				}
				if o.output == "json" || o.output == "yaml" || o.output == "name" {
					if err := c.printPods([]*v1.Pod{ev.Pod}, o, true, true); err != nil {
						return err
					}
					continue
				}
				if err := c.printWatchRow(pods, ev.Pod, o); err != nil {
					return err
				}
			}
		}
	}
	if !ok {
		return failed
	}
	return nil
}

// printPods prints in the -o format; single prints one object rather than a List.
func (c *cli) printPods(pods []*v1.Pod, o getOptions, single, noHeaders bool) error {
	switch o.output {
	case "name":
		for _, p := range pods {
			fmt.Fprintf(c.out, "pod/%s\n", p.Name)
		}
		return nil
	case "json", "yaml":
		var obj any
		if single && len(pods) == 1 {
			p := pods[0].DeepCopy()
			p.APIVersion, p.Kind = "v1", "Pod"
			obj = p
		} else {
			list := &listOut{APIVersion: "v1", Kind: "List", Items: []json.RawMessage{}}
			for _, p := range pods {
				q := p.DeepCopy()
				q.APIVersion, q.Kind = "v1", "Pod"
				b, err := json.Marshal(q)
				if err != nil {
					return err
				}
				list.Items = append(list.Items, b)
			}
			obj = list
		}
		return writeObject(c.out, obj, o.output, o.watch)
	}
	return printers.PrintPods(c.out, pods, printers.TableOptions{
		Wide: o.output == "wide", ShowLabels: o.showLabels, NoHeaders: noHeaders, WithNamespace: o.allNamespaces,
	}, c.now())
}

// printWatchRow prints one table row of a watch aligned with the table printed first, as
// kubectl does: the row is laid out together with the first table's pods and only its line
// is printed.
func (c *cli) printWatchRow(first []*v1.Pod, p *v1.Pod, o getOptions) error {
	var buf bytes.Buffer
	rows := append(append([]*v1.Pod{}, first...), p)
	err := printers.PrintPods(&buf, rows, printers.TableOptions{
		Wide: o.output == "wide", ShowLabels: o.showLabels, NoHeaders: o.noHeaders, WithNamespace: o.allNamespaces,
	}, c.now())
	if err != nil {
		return err
	}
	lines := bytes.Split(bytes.TrimSuffix(buf.Bytes(), []byte("\n")), []byte("\n"))
	_, err = fmt.Fprintf(c.out, "%s\n", lines[len(lines)-1])
	return err
}

// listOut is the List kubectl prints for several objects.
type listOut struct {
	APIVersion string            `json:"apiVersion"`
	Items      []json.RawMessage `json:"items"`
	Kind       string            `json:"kind"`
	Metadata   struct {
		ResourceVersion string `json:"resourceVersion"`
	} `json:"metadata"`
}

// writeObject prints obj as kubectl -o json (4-space indent) or -o yaml.
func writeObject(w io.Writer, obj any, format string, separate bool) error {
	if format == "yaml" {
		b, err := sigsyaml.Marshal(obj)
		if err != nil {
			return fmt.Errorf("encode yaml: %w", err)
		}
		if separate {
			io.WriteString(w, "---\n")
		}
		_, err = w.Write(b)
		return err
	}
	// kubectl prints objects through maps: keys in alphabetical order at every level.
	raw, err := json.Marshal(obj)
	if err != nil {
		return fmt.Errorf("encode json: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var generic any
	if err := dec.Decode(&generic); err != nil {
		return fmt.Errorf("encode json: %w", err)
	}
	b, err := json.MarshalIndent(generic, "", "    ")
	if err != nil {
		return fmt.Errorf("encode json: %w", err)
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}
