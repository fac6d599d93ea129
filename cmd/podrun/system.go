package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/podrun/podrun/api"
)

func (c *cli) newSystemCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "system",
		Short: "Host-wide podrun maintenance",
	}
	cmd.AddCommand(c.newSystemResetCmd())
	return cmd
}

// newSystemResetCmd removes the pod network of the host: the bridge, podrun's nftables table
// and the address allocations. It refuses while a daemon answers or a sandbox still exists,
// since their pods would lose their network under them.
func (c *cli) newSystemResetCmd() *cobra.Command {
	var (
		state string
		n     networkOptions
	)
	cmd := &cobra.Command{
		Use:   "reset",
		Short: "Remove podrun's bridge, nftables table and address allocations (no daemon, no pods)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if api.Alive(c.socket) {
				return fmt.Errorf("a podrun daemon is answering on %s: delete the pods and stop it first", c.socket)
			}
			left, err := filepath.Glob(filepath.Join(state, "sandboxes", "*"))
			if err != nil {
				return err
			}
			if len(left) > 0 {
				return fmt.Errorf("%d pod sandbox(es) still exist under %s: start the daemon and delete the pods first", len(left), state)
			}
			n.mode = "bridge"
			m, err := n.manager(state, slog.New(slog.NewTextHandler(c.errOut, nil)))
			if err != nil {
				return err
			}
			if err := m.Reset(context.Background()); err != nil {
				return fmt.Errorf("reset the pod network: %w", err)
			}
			fmt.Fprintf(c.out, "removed bridge %s, nftables table %s and the address allocations under %s\n", n.bridge, n.table, state)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&state, "state", envOr(c.getenv, "PODRUN_STATE", "/run/podrun"), "the daemon's --state (env PODRUN_STATE)")
	n.addFlags(f, c.getenv)
	return cmd
}
