package api

// The podrun exec stream protocol (podrun.exec.v1).
//
// Kubernetes streams exec over SPDY or WebSocket (channel.k8s.io). podrun's peers are only its
// own CLI and daemon on one host, so it uses something smaller over the same HTTP upgrade:
//
//  1. The client sends POST /api/v1/namespaces/{ns}/pods/{name}/exec?container=C&command=sh
//     &command=-c&command=...&stdin=true&tty=true with headers "Connection: Upgrade" and
//     "Upgrade: podrun.exec.v1".
//  2. Errors found before the process starts (pod or container unknown, no command) answer as
//     any other request: a metav1.Status JSON body with its HTTP code.
//  3. Otherwise the daemon answers "101 Switching Protocols" (Upgrade: podrun.exec.v1) and both
//     sides then exchange frames on the raw connection:
//
//     [1 byte channel][4 bytes big-endian payload length][payload]
//
//     channel 0  client→daemon  stdin bytes; a zero-length frame closes stdin (EOF)
//     channel 1  daemon→client  stdout bytes (with a TTY: stdout and stderr together)
//     channel 2  daemon→client  stderr bytes (never with a TTY)
//     channel 3  client→daemon  terminal resize, JSON {"Width":80,"Height":24}
//     channel 4  daemon→client  the end: JSON ExecStatus {"exitCode":N} on completion, or
//                               {"status":"Failure","reason":…,"code":…,"message":…} when the
//                               exec could not run; the daemon closes the connection after it.
//
// A payload is at most maxFrame bytes. When the client closes the connection the daemon
// cancels the exec (the process is killed), as a dropped kubectl exec does.

import (
	"encoding/binary"
	"fmt"
	"io"
	"sync"
)

// ExecUpgrade is the Upgrade token of the exec stream protocol.
const ExecUpgrade = "podrun.exec.v1"

// Channels of the exec stream protocol.
const (
	ChannelStdin  byte = 0
	ChannelStdout byte = 1
	ChannelStderr byte = 2
	ChannelResize byte = 3
	ChannelStatus byte = 4
)

// maxFrame bounds a frame payload so that a corrupt length cannot make a peer allocate GBs.
const maxFrame = 1 << 20

// ExecStatus is the payload of the status frame, shaped like metav1.Status.
type ExecStatus struct {
	ExitCode int    `json:"exitCode"`
	Status   string `json:"status,omitempty"` // "Success" or "Failure"
	Reason   string `json:"reason,omitempty"`
	Code     int32  `json:"code,omitempty"`
	Message  string `json:"message,omitempty"`
}

// writeFrame writes one frame.
func writeFrame(w io.Writer, ch byte, p []byte) error {
	if len(p) > maxFrame {
		return fmt.Errorf("exec stream: frame of %d bytes exceeds %d", len(p), maxFrame)
	}
	var hdr [5]byte
	hdr[0] = ch
	binary.BigEndian.PutUint32(hdr[1:], uint32(len(p)))
	// One write per frame keeps frames whole when several writers share the conn.
	buf := make([]byte, 0, len(hdr)+len(p))
	buf = append(append(buf, hdr[:]...), p...)
	_, err := w.Write(buf)
	return err
}

// readFrame reads one frame.
func readFrame(r io.Reader) (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n > maxFrame {
		return 0, nil, fmt.Errorf("exec stream: frame of %d bytes exceeds %d", n, maxFrame)
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		return 0, nil, fmt.Errorf("exec stream: short frame: %w", err)
	}
	return hdr[0], p, nil
}

// frameMux serialises frame writes of several streams onto one connection.
type frameMux struct {
	mu sync.Mutex
	w  io.Writer
}

func (m *frameMux) write(ch byte, p []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return writeFrame(m.w, ch, p)
}

// channelWriter is an io.Writer that sends what it is given as frames of one channel.
type channelWriter struct {
	mux *frameMux
	ch  byte
}

func (c *channelWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		chunk := p
		if len(chunk) > maxFrame {
			chunk = chunk[:maxFrame]
		}
		if err := c.mux.write(c.ch, chunk); err != nil {
			return n, err
		}
		n += len(chunk)
		p = p[len(chunk):]
	}
	return n, nil
}
