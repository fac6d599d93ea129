package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"
)

func (c *cli) newInspectCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "inspect pod NAME",
		Short: "Print the runtime view of a pod as JSON: sandbox pid, namespaces, containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			names, err := podNames("inspect", args)
			if err != nil {
				return err
			}
			if len(names) != 1 {
				return fmt.Errorf("inspect needs exactly one pod name")
			}
			in, err := c.client().Inspect(cmd.Context(), c.namespace, names[0])
			if err != nil {
				return err
			}
			b, err := json.MarshalIndent(in, "", "  ")
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(c.out, "%s\n", b)
			return err
		},
	}
}
