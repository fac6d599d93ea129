package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podrun/podrun/cri"
)

// podExec serves POST …/pods/{name}/exec with the podrun.exec.v1 stream protocol
// (exec_stream.go).
func (s *server) podExec(w http.ResponseWriter, r *http.Request) {
	ns, name := r.PathValue("ns"), r.PathValue("name")
	q := &query{r: r}
	stdin := q.bool("stdin")
	tty := q.bool("tty")
	if q.err != nil {
		badRequest(w, q.err.Error())
		return
	}
	cmd := r.URL.Query()["command"]
	if len(cmd) == 0 {
		badRequest(w, "you must specify at least one command for the container")
		return
	}
	if !strings.EqualFold(r.Header.Get("Upgrade"), ExecUpgrade) {
		badRequest(w, fmt.Sprintf("exec needs the %s stream protocol: send Connection: Upgrade, Upgrade: %s", ExecUpgrade, ExecUpgrade))
		return
	}
	p, err := s.pods.Get(ns, name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	container, err := ContainerFor(p, r.URL.Query().Get("container"))
	if err != nil {
		badRequest(w, err.Error())
		return
	}
	if !containerRunning(p, container) {
		badRequest(w, fmt.Sprintf("unable to upgrade connection: container not found (%q)", container))
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		s.writeError(w, r, errors.New("connection cannot be hijacked"))
		return
	}
	conn, brw, err := hj.Hijack()
	if err != nil {
		s.writeError(w, r, fmt.Errorf("hijack: %w", err))
		return
	}
	defer conn.Close()
	if _, err := fmt.Fprintf(conn, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: %s\r\n\r\n", ExecUpgrade); err != nil {
		return
	}
	// The request context ends with the hijack; the exec lives until it ends or the client goes.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	mux := &frameMux{w: conn}
	req := &cri.ExecRequest{Cmd: cmd, TTY: tty, Stdout: &channelWriter{mux: mux, ch: ChannelStdout}}
	if !tty {
		req.Stderr = &channelWriter{mux: mux, ch: ChannelStderr}
	}
	var stdinW *io.PipeWriter
	var stdinR *io.PipeReader
	if stdin {
		stdinR, stdinW = io.Pipe()
		req.Stdin = stdinR
	}
	resize := make(chan cri.TerminalSize, 4)
	req.Resize = resize

	// Reader: client frames. Buffered bytes of the hijacked reader come first (brw.Reader).
	go func() {
		defer func() {
			if stdinW != nil {
				stdinW.Close()
			}
		}()
		for {
			ch, payload, err := readFrame(brw.Reader)
			if err != nil {
				// The client went away: a dropped exec is killed, as with kubectl.
				cancel()
				return
			}
			switch ch {
			case ChannelStdin:
				if stdinW == nil {
					continue
				}
				if len(payload) == 0 {
					stdinW.Close()
					stdinW = nil
					continue
				}
				if _, err := stdinW.Write(payload); err != nil {
					stdinW = nil // the process closed its stdin; drop the rest
				}
			case ChannelResize:
				var ts cri.TerminalSize
				if json.Unmarshal(payload, &ts) == nil {
					select {
					case resize <- ts:
					default: // a burst of resizes: the latest that fits is enough
					}
				}
			}
		}
	}()

	code, err := s.pods.Exec(ctx, ns, name, container, req)
	if stdinR != nil {
		// Nobody reads stdin any more: unblock a frame reader stuck writing into the pipe.
		stdinR.Close()
	}
	st := ExecStatus{ExitCode: code, Status: metav1.StatusSuccess}
	if err != nil {
		st = ExecStatus{ExitCode: -1, Status: metav1.StatusFailure, Code: http.StatusInternalServerError, Reason: string(metav1.StatusReasonInternalError), Message: err.Error()}
		var se apierrors.APIStatus
		if errors.As(err, &se) {
			st.Code, st.Reason = se.Status().Code, string(se.Status().Reason)
		}
		s.log.Warn("exec failed", "pod", ns+"/"+name, "container", container, "err", err)
	} else if code != 0 {
		st.Status = metav1.StatusFailure
		st.Reason = "NonZeroExitCode"
		st.Message = fmt.Sprintf("command terminated with non-zero exit code: error executing command %v, exit code %d", cmd, code)
	}
	b, _ := json.Marshal(st)
	_ = mux.write(ChannelStatus, b)
}
