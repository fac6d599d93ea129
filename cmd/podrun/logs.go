package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/podrun/podrun/api"
)

func (c *cli) newLogsCmd() *cobra.Command {
	var o api.LogOptions
	var tail int64
	cmd := &cobra.Command{
		Use:   "logs POD [-c CONTAINER] [-f] [-p] [--timestamps] [--tail N]",
		Short: "Print the logs of a container of a pod",
		Example: `  podrun logs mypod
  podrun logs mypod -c demoapp -f --tail 10
  podrun logs mypod -p --timestamps`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if typ, n, ok := cutResource(name); ok {
				if !isPodType(typ) {
					return fmt.Errorf("the server doesn't have a resource type %q", typ)
				}
				name = n
			}
			if len(args) == 2 {
				if o.Container != "" {
					return fmt.Errorf("only one of -c or an inline [CONTAINER] arg is allowed")
				}
				o.Container = args[1]
			}
			if tail >= 0 {
				o.TailLines = &tail
			} else if tail != -1 {
				return fmt.Errorf("--tail must be greater than or equal to -1")
			}
			ctx := cmd.Context()
			cl := c.client()
			p, err := cl.GetPod(ctx, c.namespace, name)
			if err != nil {
				return err
			}
			// kubectl checks the container on its side, so its message starts with "error:".
			cont, err := api.ContainerFor(p, o.Container)
			if err != nil {
				return err
			}
			o.Container = cont
			if err := cl.Logs(ctx, c.namespace, name, o, c.out); err != nil {
				return err
			}
			return ctx.Err() // interrupted while following: exit 130

		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.Container, "container", "c", "", "print the logs of this container")
	f.BoolVarP(&o.Follow, "follow", "f", false, "stream the logs until the container stops")
	f.BoolVarP(&o.Previous, "previous", "p", false, "print the logs of the previous instance of the container")
	f.BoolVar(&o.Timestamps, "timestamps", false, "include timestamps on each line")
	f.Int64Var(&tail, "tail", -1, "lines of recent log file to display; -1 shows all")
	return cmd
}

// cutResource splits "pod/NAME".
func cutResource(s string) (typ, name string, ok bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return s[:i], s[i+1:], true
		}
	}
	return "", s, false
}
