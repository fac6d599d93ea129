// Command podrun-runner does podrun's libcontainer work outside the daemon (package runner):
//   - "podrun-runner init": libcontainer's container init (the nsenter constructor runs first);
//   - "podrun-runner monitor helper <op> …": a monitor's create, signal or destroy;
//   - "podrun-runner serve …": the daemon's exec server.
//
// libcontainer re-executes the binary that calls it as each container's init; this one links
// libcontainer and nothing of the daemon's, so that init starts with far less to map and
// initialise than the podrun binary would.
package main

import (
	"os"

	_ "github.com/opencontainers/cgroups/devices"
	"github.com/opencontainers/runc/libcontainer"
	_ "github.com/opencontainers/runc/libcontainer/nsenter"

	"github.com/podrun/podrun/runner"
)

func init() {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		// libcontainer's container init: it never returns.
		libcontainer.Init()
	}
}

func main() {
	os.Exit(runner.Main(os.Args[1:]))
}
