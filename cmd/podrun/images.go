package main

import (
	"github.com/spf13/cobra"

	"github.com/podrun/podrun/cmd/podrun/printers"
)

func (c *cli) newImagesCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "images",
		Short: "List the images of the local store",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			imgs, err := c.client().ListImages(cmd.Context())
			if err != nil {
				return err
			}
			return printers.PrintImages(c.out, imgs)
		},
	}
}
