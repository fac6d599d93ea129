// Command podrun runs Kubernetes Pods on one Linux host. See README.md.
//
// Hidden entry points of the same binary:
//   - "podrun init": libcontainer's container init (the nsenter constructor runs first);
//   - "podrun monitor …": the per-pod monitor, parent of the pause and of every container (the
//     daemon runs the small podrun-monitor binary instead when it lies beside this one);
//   - "podrun monitor helper <op> …", "podrun runner …": package runner's work, for when the
//     small podrun-runner binary is not beside this one;
//   - "/pause": handled by a C constructor in package sandbox before the Go runtime starts.
package main

import (
	"os"

	_ "github.com/opencontainers/cgroups/devices"
	"github.com/opencontainers/runc/libcontainer"
	_ "github.com/opencontainers/runc/libcontainer/nsenter"

	"github.com/podrun/podrun/monitor"
	"github.com/podrun/podrun/monitor/helperproto"
	"github.com/podrun/podrun/runner"
	_ "github.com/podrun/podrun/sandbox"
)

func init() {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		// libcontainer's container init: it never returns.
		libcontainer.Init()
	}
}

func main() {
	if len(os.Args) > 2 && os.Args[1] == "monitor" && os.Args[2] == helperproto.HelperArg {
		os.Exit(runner.Main(os.Args[1:]))
	}
	if len(os.Args) > 1 && os.Args[1] == "runner" {
		os.Exit(runner.Main(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == "monitor" {
		os.Exit(monitor.Main(os.Args[2:]))
	}
	os.Exit(run(os.Args[1:]))
}
