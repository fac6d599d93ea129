// Package helperproto is what a monitor and its libcontainer helper (package runner) agree
// on: the helper's command line and its answer. It imports nothing, so that podrun-runner,
// which every container init and exec init is re-executed from, links none of the monitor's
// packages (its HTTP API pulled net/http and crypto/tls into every init's start-up).
package helperproto

// HelperArg is the word after "monitor" that makes `<binary> monitor helper <op>` a helper.
const HelperArg = "helper"

// Args is the command line (after the program name) of the helper for op on the container or
// sandbox id, with extra arguments.
func Args(op, state, id string, extra ...string) []string {
	return append([]string{"monitor", HelperArg, op, "--state", state, "--id", id}, extra...)
}

// PauseArgs are the extra arguments of the create of a pause: start it at once, report its pid
// early, then stay for the first container.
func PauseArgs() []string { return []string{"--run", EarlyPidArg, NextArg} }

// EarlyPidArg makes `helper create` print "started <pid>" as soon as the new init's
// namespaces exist (libcontainer's CreateRuntime hooks: after its mounts, before pivot_root),
// ahead of its answer.
const EarlyPidArg = "--early-pid"

// Result is what `helper create` prints.
type Result struct {
	Pid       int    `json:"pid"`
	CgroupMem string `json:"cgroupMem,omitempty"` // memory cgroup dir, for the OOM counter
}

// NextArg makes the pause's `helper create` stay after its answer and make one more
// container, the pod's first, when asked on its fd 3 (a SOCK_SEQPACKET socket): a pod's start
// then waits for one helper process instead of two. The request is one message: a
// NextRequest in JSON, a newline, the launch spec; the stdio travel as SCM_RIGHTS. The
// answer is one NextReply message; the helper then exits. It exits too when the socket
// closes, or when no request came within NextLingerSeconds.
const NextArg = "--next"

// NextLingerSeconds bounds how long the pause's helper waits for the first container.
const NextLingerSeconds = 10

// NextRequest asks the pause's helper for the first container. Stdio are the indexes, in
// the message's descriptors, of the init's stdin, stdout, stderr and console socket; -1 for
// none.
type NextRequest struct {
	ID    string `json:"id"`
	Stdio [4]int `json:"stdio"`
}

// NextReply is the answer to a NextRequest.
type NextReply struct {
	Result
	Error string `json:"error,omitempty"`
}
