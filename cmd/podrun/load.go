package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func (c *cli) newLoadCmd() *cobra.Command {
	var input string
	cmd := &cobra.Command{
		Use:   "load -i FILE",
		Short: "Load images from a docker-archive (docker save) or OCI-archive tarball",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var r io.Reader = c.in
			if input != "" && input != "-" {
				f, err := os.Open(input)
				if err != nil {
					return fmt.Errorf("open %s: %w", input, err)
				}
				defer f.Close()
				r = f
			} else if c.stdinFd >= 0 && term.IsTerminal(c.stdinFd) {
				// As docker load: refuse to read a tarball from a terminal.
				return fmt.Errorf("requested load from stdin, but stdin is empty")
			}
			imgs, err := c.client().LoadImages(cmd.Context(), r)
			if err != nil {
				return err
			}
			for _, img := range imgs {
				if len(img.RepoTags) == 0 {
					fmt.Fprintf(c.out, "Loaded image ID: %s\n", img.ID)
				}
				for _, t := range img.RepoTags {
					fmt.Fprintf(c.out, "Loaded image: %s\n", t)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&input, "input", "i", "", "read from a tar archive file instead of stdin")
	return cmd
}
