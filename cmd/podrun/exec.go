package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/cri"
)

func (c *cli) newExecCmd() *cobra.Command {
	var stdin, tty, quiet bool
	var container string
	cmd := &cobra.Command{
		Use:   "exec [-i] [-t] POD [-c CONTAINER] -- COMMAND [args...]",
		Short: "Execute a command in a container of a pod",
		Example: `  podrun exec mypod -- date
  podrun exec -it mypod -c demoapp -- sh
  echo hello | podrun exec -i mypod -- cat`,
		RunE: func(cmd *cobra.Command, args []string) error {
			dash := cmd.ArgsLenAtDash()
			if len(args) == 0 {
				return fmt.Errorf("pod, type/name or --filename must be specified")
			}
			if dash < 0 && len(args) > 1 || dash > 1 {
				return fmt.Errorf("exec [POD] [COMMAND] is not supported anymore. Use exec [POD] -- [COMMAND] instead")
			}
			name := args[0]
			if typ, n, ok := cutResource(name); ok {
				if !isPodType(typ) {
					return fmt.Errorf("the server doesn't have a resource type %q", typ)
				}
				name = n
			}
			var command []string
			if dash >= 0 {
				command = args[dash:]
			}
			if len(command) == 0 {
				return fmt.Errorf("you must specify at least one command for the container")
			}
			ctx := cmd.Context()
			cl := c.client()
			p, err := cl.GetPod(ctx, c.namespace, name)
			if err != nil {
				return err
			}
			if container == "" && len(p.Spec.Containers) > 1 {
				// kubectl exec picks the default (first) container and says so.
				container = p.Spec.Containers[0].Name
				if !quiet {
					var all []string
					for _, ct := range p.Spec.Containers {
						all = append(all, ct.Name)
					}
					for _, ct := range p.Spec.InitContainers {
						all = append(all, ct.Name+" (init)")
					}
					fmt.Fprintf(c.errOut, "Defaulted container %q out of: %s\n", container, strings.Join(all, ", "))
				}
			}
			opts := api.ExecOptions{Container: container, Command: command, Stdout: c.out, Stderr: c.errOut}
			if stdin {
				opts.Stdin = c.in
			}
			// As kubectl: a TTY needs -i, and a terminal on stdin; else it is dropped.
			if tty && stdin {
				if c.stdinFd >= 0 && term.IsTerminal(c.stdinFd) {
					opts.TTY = true
				} else if !quiet {
					fmt.Fprintln(c.errOut, "Unable to use a TTY - input is not a terminal or the right kind of file")
				}
			}
			if opts.TTY {
				old, err := term.MakeRaw(c.stdinFd)
				if err != nil {
					return fmt.Errorf("set the terminal to raw mode: %w", err)
				}
				defer term.Restore(c.stdinFd, old)
				resize := make(chan cri.TerminalSize, 1)
				opts.Resize = resize
				sendSize := func() {
					fd := int(os.Stdout.Fd())
					if !term.IsTerminal(fd) {
						fd = c.stdinFd
					}
					if w, h, err := term.GetSize(fd); err == nil {
						select {
						case resize <- cri.TerminalSize{Width: uint16(w), Height: uint16(h)}:
						default:
						}
					}
				}
				sendSize()
				winch := make(chan os.Signal, 1)
				signal.Notify(winch, syscall.SIGWINCH)
				defer signal.Stop(winch)
				go func() {
					for range winch {
						sendSize()
					}
				}()
			}
			code, err := cl.Exec(ctx, c.namespace, name, opts)
			if err != nil {
				// kubectl reports a refused upgrade as its own error, not the server's.
				var se *apierrors.StatusError
				if errors.As(err, &se) && strings.HasPrefix(se.ErrStatus.Message, "unable to upgrade connection") {
					return errors.New(se.ErrStatus.Message)
				}
				return err
			}
			if code != 0 {
				if opts.TTY {
					// Restore before printing: a raw terminal does not return the carriage.
					fmt.Fprint(c.errOut, "\r")
				}
				fmt.Fprintf(c.errOut, "command terminated with exit code %d\n", code)
				return &exitError{code: code}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&stdin, "stdin", "i", false, "pass stdin to the container")
	f.BoolVarP(&tty, "tty", "t", false, "stdin is a TTY")
	f.BoolVarP(&quiet, "quiet", "q", false, "only print output from the remote session")
	f.StringVarP(&container, "container", "c", "", "container name; defaults to the first container")
	return cmd
}
