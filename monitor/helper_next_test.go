package monitor

import (
	"encoding/json"
	"errors"
	"os"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/podrun/podrun/monitor/helperproto"
)

// TestNextHelperCreate: the request for the pod's first container reaches the first container's helper
// with its launch spec and stdio, and each way the helper can answer (or not) is told apart.
func TestNextHelperCreate(t *testing.T) {
	tests := []struct {
		name    string
		helper  func(t *testing.T, fd int) // the helper's side
		first   bool                       // helper runs to its end before the request
		wantPid int
		wantErr error  // errors.Is
		wantMsg string // else: the error's text
	}{
		{name: "answer", wantPid: 42, helper: func(t *testing.T, fd int) {
			head, launch, files := recvNext(t, fd)
			if head.ID != "c1" || head.Stdio != [4]int{-1, 0, 1, -1} || string(launch) != `{"launch":1}` || len(files) != 2 {
				t.Errorf("request %+v, launch %q, %d files", head, launch, len(files))
			}
			for _, f := range files {
				f.Close()
			}
			reply(t, fd, helperproto.NextReply{Result: helperproto.Result{Pid: 42}})
		}},
		{name: "error", wantMsg: "start init: boom", helper: func(t *testing.T, fd int) {
			_, _, files := recvNext(t, fd)
			for _, f := range files {
				f.Close()
			}
			reply(t, fd, helperproto.NextReply{Error: "start init: boom"})
		}},
		{name: "read, then gone without an answer", wantErr: errNextNoAnswer, helper: func(t *testing.T, fd int) {
			_, _, files := recvNext(t, fd)
			for _, f := range files {
				f.Close()
			}
			unix.Close(fd)
		}},
		{name: "gone before the request", wantErr: errNextUnavailable, first: true, helper: func(t *testing.T, fd int) {
			unix.Close(fd)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			n := &nextHelper{sock: os.NewFile(uintptr(fds[0]), "next"), gone: make(chan struct{})}
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			defer w.Close()
			done := make(chan struct{})
			if tt.first {
				tt.helper(t, fds[1])
				close(done)
			} else {
				go func() { defer close(done); tt.helper(t, fds[1]) }()
			}
			res, err := n.create("c1", []byte(`{"launch":1}`), []*os.File{r, w}, [4]int{-1, 0, 1, -1})
			<-done
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("err %v, want %v", err, tt.wantErr)
				}
			case tt.wantMsg != "":
				if err == nil || err.Error() != tt.wantMsg {
					t.Errorf("err %v, want %q", err, tt.wantMsg)
				}
			case err != nil || res.Pid != tt.wantPid:
				t.Errorf("create = %+v, %v; want pid %d", res, err, tt.wantPid)
			}
		})
	}
}

func recvNext(t *testing.T, fd int) (helperproto.NextRequest, []byte, []*os.File) {
	t.Helper()
	buf := make([]byte, 64<<10)
	oob := make([]byte, unix.CmsgSpace(4*4))
	n, oobn, _, _, err := unix.Recvmsg(fd, buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	req, launch, err := helperproto.ParseNext(buf[:n])
	if err != nil {
		t.Fatal(err)
	}
	var files []*os.File
	msgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
	for _, m := range msgs {
		fds, _ := unix.ParseUnixRights(&m)
		for _, f := range fds {
			files = append(files, os.NewFile(uintptr(f), "rcvd"))
		}
	}
	return req, launch, files
}

func reply(t *testing.T, fd int, r helperproto.NextReply) {
	t.Helper()
	b, _ := json.Marshal(r)
	if _, err := unix.Write(fd, b); err != nil {
		t.Fatal(err)
	}
	unix.Close(fd)
}
