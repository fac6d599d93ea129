package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/podrun/podrun/api"
)

func (c *cli) newVersionCmd() *cobra.Command {
	var clientOnly bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the client and daemon versions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintf(c.out, "Client Version: %s\n", api.Version)
			if clientOnly {
				return nil
			}
			v, err := c.client().Version(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(c.out, "Server Version: %s\n", v.GitVersion)
			return nil
		},
	}
	cmd.Flags().BoolVar(&clientOnly, "client", false, "print the client version only")
	return cmd
}
