package runner

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/podrun/podrun/internal/layout"
	"github.com/podrun/podrun/monitor/helperproto"
)

// maxNextRequest bounds the request for the pod's first container: a launch spec is tens of
// KiB; the monitor's send fails (and it starts a helper of its own) if one is ever larger.
const maxNextRequest = 1 << 20

// serveNext is the first container's helper (helperproto.NextOp): it makes the pod's first
// container when the monitor asks on the socket fd, sparing a pod's start the start of a
// helper process (a Go program's start-up, ≈ 3 ms here). It answers once and returns; it
// returns without a request when the socket closes or after helperproto.NextLinger.
func serveNext(p paths, fd int) {
	unix.CloseOnExec(fd) // the inits started from here must not keep the monitor's socket
	defer unix.Close(fd)
	deadline := time.Now().Add(helperproto.NextLinger)
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return
		}
		n, err := unix.Poll(pfd, int(left.Milliseconds())+1)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 || pfd[0].Revents == 0 {
			return
		}
		break
	}
	buf := make([]byte, maxNextRequest)
	oob := make([]byte, unix.CmsgSpace(4*4))
	n, oobn, flags, _, err := unix.Recvmsg(fd, buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil || n == 0 {
		return // the monitor closed its end: no first container from us
	}
	var files []*os.File
	for _, fd := range rightsFds(oob[:oobn]) {
		files = append(files, os.NewFile(uintptr(fd), "stdio"))
	}
	defer closeFiles(files)
	res, err := nextCreate(p, buf[:n], flags, files)
	r := &helperproto.NextReply{}
	if err != nil {
		r.Error = err.Error()
	} else {
		r.Result = *res
	}
	b, err := json.Marshal(r)
	if err == nil {
		_, err = unix.Write(fd, b)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "helper: answer the first container's create: %v\n", err)
	}
}

// nextCreate decodes a helperproto.NextRequest message and makes its container.
func nextCreate(p paths, msg []byte, flags int, files []*os.File) (*helperResult, error) {
	if flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0 {
		return nil, fmt.Errorf("create request truncated")
	}
	req, launch, err := helperproto.ParseNext(msg)
	if err != nil {
		return nil, err
	}
	if !layout.ValidID(req.ID) {
		return nil, fmt.Errorf("create request: invalid id %q", req.ID)
	}
	var stdio [4]*os.File
	for i, k := range req.Stdio {
		switch {
		case k == -1:
		case k >= 0 && k < len(files):
			stdio[i] = files[k]
		default:
			return nil, fmt.Errorf("create request: stdio %d names descriptor %d of %d", i, k, len(files))
		}
	}
	return helperCreate(p, req.ID, launch, stdio)
}

// rightsFds are the descriptors of an SCM_RIGHTS message.
func rightsFds(oob []byte) []int {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	var fds []int
	for _, m := range msgs {
		if f, err := unix.ParseUnixRights(&m); err == nil {
			fds = append(fds, f...)
		}
	}
	return fds
}
