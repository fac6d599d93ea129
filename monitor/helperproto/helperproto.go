// Package helperproto is what a monitor and its libcontainer helper (package runner) agree
// on: the helper's command line, the request for the pod's first container and the answers.
// It imports only a little of the standard library, so that podrun-runner, which every
// container init and exec init is re-executed from, links none of the monitor's packages (its
// HTTP API pulled net/http and crypto/tls into every init's start-up).
package helperproto

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// HelperArg is the word after "monitor" that makes `<binary> monitor helper <op>` a helper.
const HelperArg = "helper"

// Args is the command line (after the program name) of the helper for op on the container or
// sandbox id, with extra arguments.
func Args(op, state, id string, extra ...string) []string {
	return append([]string{"monitor", HelperArg, op, "--state", state, "--id", id}, extra...)
}

// Result is what `helper create` prints.
type Result struct {
	Pid       int    `json:"pid"`
	CgroupMem string `json:"cgroupMem,omitempty"` // memory cgroup dir, for the OOM counter
}

// NextOp is the helper that makes the pod's first container, started beside the monitor
// (by podrun-launch, or by the monitor) before the container is asked for: a pod's start then
// waits for no helper process's start-up. It waits on its fd 3 (a SOCK_SEQPACKET socket) for
// one request: a NextRequest in JSON, a newline, the launch spec, with the stdio as
// SCM_RIGHTS. The answer is one NextReply message; the helper then exits. It exits too when the
// socket closes, or when no request came within NextLinger.
const NextOp = "next"

// NextLinger bounds how long the first container's helper waits for its request.
const NextLinger = 10 * time.Second

// NextRequest asks the first container's helper for it. Stdio are the indexes, in
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

// NextMessage is the message asking for the first container: req, a newline, the launch spec.
func NextMessage(req NextRequest, launch []byte) ([]byte, error) {
	head, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	return append(append(head, '\n'), launch...), nil
}

// ParseNext splits a NextMessage into the request and the launch spec.
func ParseNext(msg []byte) (NextRequest, []byte, error) {
	var req NextRequest
	head, launch, ok := bytes.Cut(msg, []byte("\n"))
	if !ok {
		return req, nil, errors.New("create request: no launch spec")
	}
	if err := json.Unmarshal(head, &req); err != nil {
		return req, nil, fmt.Errorf("create request: %w", err)
	}
	return req, launch, nil
}
