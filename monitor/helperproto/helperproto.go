// Package helperproto is what a monitor and its libcontainer helper (package runner) agree
// on: the helper's command line and its answer. It imports nothing, so that podrun-runner,
// which every container init and exec init is re-executed from, links none of the monitor's
// packages (its HTTP API pulled net/http and crypto/tls into every init's start-up).
package helperproto

// HelperArg is the word after "monitor" that makes `<binary> monitor helper <op>` a helper.
const HelperArg = "helper"

// EarlyPidArg makes `helper create` print "started <pid>" as soon as the new init's
// namespaces exist (libcontainer's CreateRuntime hooks: after its mounts, before pivot_root),
// ahead of its answer.
const EarlyPidArg = "--early-pid"

// Result is what `helper create` prints.
type Result struct {
	Pid       int    `json:"pid"`
	CgroupMem string `json:"cgroupMem,omitempty"` // memory cgroup dir, for the OOM counter
}
