// Command podrun runs Kubernetes Pods on one Linux host. See README.md.
//
// Hidden entry points of the same binary:
//   - "podrun init": libcontainer's container init (the nsenter constructor runs first; see
//     package containerinit);
//   - "podrun monitor …": the per-pod monitor, parent of the pause and of every container (the
//     daemon runs the small podrun-monitor binary instead when it lies beside this one);
//   - "podrun monitor helper <op> …": the monitor's libcontainer work (create, signal, destroy);
//   - "pause": handled by a C constructor in package sandbox before the Go runtime starts.
package main

import (
	"os"

	_ "github.com/podrun/podrun/internal/containerinit"
	"github.com/podrun/podrun/monitor"
	"github.com/podrun/podrun/runtime"
	_ "github.com/podrun/podrun/sandbox"
)

func main() {
	if len(os.Args) > 2 && os.Args[1] == "monitor" && os.Args[2] == monitor.HelperArg {
		os.Exit(runtime.HelperMain(os.Args[3:]))
	}
	if len(os.Args) > 1 && os.Args[1] == "monitor" {
		os.Exit(monitor.Main(os.Args[2:]))
	}
	os.Exit(run(os.Args[1:]))
}
