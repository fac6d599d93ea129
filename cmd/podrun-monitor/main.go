// Command podrun-monitor is the per-pod monitor (package monitor) as a small binary of its
// own: `podrun-monitor monitor --state DIR --sandbox ID`, started by the daemon when it lies
// beside the podrun binary. One runs per pod for the pod's whole life, so its memory counts:
// without the daemon's packages (Kubernetes types, image store, network, CLI) it starts with
// none of their package-level state. It does its libcontainer work through short-lived
// helpers (`podrun-runner monitor helper …`, package runner), as `podrun monitor` does.
package main

import (
	"fmt"
	"os"

	"github.com/podrun/podrun/monitor"
)

func main() {
	if len(os.Args) < 2 || os.Args[1] != "monitor" {
		fmt.Fprintln(os.Stderr, "usage: podrun-monitor monitor --state DIR --sandbox ID (started by the podrun daemon)")
		os.Exit(2)
	}
	os.Exit(monitor.Main(os.Args[2:]))
}
