package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/podrun/podrun/api"
)

const defaultSocket = "/run/podrun/podrun.sock"

// cli is what every verb shares: the streams, the global flags, the clock. Tests build one
// with buffers and run the cobra command in-process.
type cli struct {
	in        io.Reader
	out       io.Writer
	errOut    io.Writer
	socket    string
	namespace string
	now       func() time.Time
	getenv    func(string) string
	// stdinFd is the descriptor of in when it is a real file (for -t); -1 otherwise.
	stdinFd int
	// startDaemon starts a background daemon for `run` (replaced in tests).
	startDaemon func(ctx context.Context, c *cli) error
	// read is the JSON of each pod readPods decoded, as its file has it: createPods sends it
	// (as kubectl sends what it read) unless the pod was changed since (dropped from here).
	read map[*v1.Pod][]byte
	// checks decodes in full a pod readPods did not (see readPods): only its names are set.
	checks map[*v1.Pod]func() error
}

// exitError ends the CLI with a code after its message (if any) was printed.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// run executes the CLI and returns the process exit code.
func run(args []string) int {
	c := &cli{in: os.Stdin, out: os.Stdout, errOut: os.Stderr, now: time.Now, getenv: os.Getenv, stdinFd: int(os.Stdin.Fd()), startDaemon: startDaemonProcess}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return c.execute(ctx, args)
}

// execute runs the command line and prints its error the way kubectl does.
func (c *cli) execute(ctx context.Context, args []string) int {
	root := c.newRootCmd()
	root.SetArgs(args)
	root.SetIn(c.in)
	root.SetOut(c.out)
	root.SetErr(c.errOut)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		// Interrupted (Ctrl-C, SIGTERM): the shell's code for death by SIGINT, no message.
		return 130
	}
	fmt.Fprintln(c.errOut, c.errorLine(err))
	return 1
}

// errorLine formats an error as kubectl's one-line messages: "Error from server (Reason): …"
// for API errors, "error: …" for everything found on the client side.
func (c *cli) errorLine(err error) string {
	var ue *api.UnreachableError
	if errors.As(err, &ue) {
		if errors.Is(ue.Err, fs.ErrPermission) {
			// The daemon is there but its socket refuses us: saying "start it" would mislead.
			return fmt.Sprintf("error: %v — only root and members of the daemon's --socket-group may use podrun", ue)
		}
		return fmt.Sprintf("error: %v — start it with 'podrun daemon' (or 'podrun run FILE' starts one)", ue)
	}
	var se *apierrors.StatusError
	if errors.As(err, &se) {
		if msg, ok := invalidMessage(se); ok {
			return msg
		}
		if r := se.ErrStatus.Reason; r != "" && r != "Unknown" {
			return fmt.Sprintf("Error from server (%s): %s", r, se.ErrStatus.Message)
		}
		return fmt.Sprintf("Error from server: %s", se.ErrStatus.Message)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "error: ") {
		msg = "error: " + msg
	}
	return msg
}

func (c *cli) newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "podrun",
		Short: "podrun runs Kubernetes Pods on one Linux host",
		Long: "podrun runs Kubernetes Pods on one Linux host, without a cluster: `podrun run mypod.yaml`\n" +
			"hands the Pod to a local daemon that runs it as the kubelet would. The verbs and their\n" +
			"output are kubectl's.",
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	socket := os.Getenv("PODRUN_SOCKET")
	if c.getenv != nil {
		socket = c.getenv("PODRUN_SOCKET")
	}
	if socket == "" {
		socket = defaultSocket
	}
	root.PersistentFlags().StringVar(&c.socket, "socket", socket, "the podrun daemon's unix socket (env PODRUN_SOCKET)")
	root.PersistentFlags().StringVarP(&c.namespace, "namespace", "n", "default", "the namespace scope of this request")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return fmt.Errorf("%v\nSee '%s --help' for usage.", err, cmd.CommandPath())
	})
	root.AddCommand(
		c.newRunCmd(), c.newCreateCmd(), c.newApplyCmd(), c.newGetCmd(), c.newDescribeCmd(),
		c.newLogsCmd(), c.newExecCmd(), c.newInspectCmd(), c.newDeleteCmd(), c.newLoadCmd(),
		c.newImagesCmd(), c.newVersionCmd(), c.newDaemonCmd(), c.newSystemCmd(),
	)
	return root
}

func (c *cli) client() *api.Client { return api.NewClient(c.socket) }

// failed is returned by verbs that already printed their per-object errors.
var failed = &exitError{code: 1}

// printErr prints one error line and lets the verb go on with the next object.
func (c *cli) printErr(err error) {
	fmt.Fprintln(c.errOut, c.errorLine(err))
}

// invalidMessage formats an Invalid StatusError as kubectl's CheckErr does: "The Pod "x" is
// invalid: <field>: <message>" for one cause, a "* cause" list for several.
func invalidMessage(se *apierrors.StatusError) (string, bool) {
	st := se.ErrStatus
	if st.Reason != "Invalid" || st.Details == nil || len(st.Details.Causes) == 0 {
		return "", false
	}
	prefix := "The request is invalid"
	if st.Details.Kind != "" || st.Details.Name != "" {
		prefix = fmt.Sprintf("The %s %q is invalid", st.Details.Kind, st.Details.Name)
	}
	causes := make([]string, 0, len(st.Details.Causes))
	for _, c := range st.Details.Causes {
		if c.Field != "" {
			causes = append(causes, c.Field+": "+c.Message)
		} else {
			causes = append(causes, c.Message)
		}
	}
	if len(causes) == 1 {
		return prefix + ": " + causes[0], true
	}
	return prefix + ": \n* " + strings.Join(causes, "\n* "), true
}
