package crilog

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// MaxLineSize is the longest content written in one log line; longer lines are split into
// partial ("P") chunks, as the kubelet's CRI log writer does with its 16 KiB buffer.
const MaxLineSize = 16 * 1024

// Stream names of the CRI format.
const (
	Stdout = "stdout"
	Stderr = "stderr"
)

// Writer appends CRI-formatted lines to one log file. Streams of one Writer share a mutex so
// that lines of stdout and stderr never interleave inside a line.
type Writer struct {
	mu  sync.Mutex
	f   *os.File
	now func() time.Time
	buf []byte // reused line buffer: the monitor must stay small
}

// NewWriter opens (creates or appends to) the log file at path.
func NewWriter(path string) (*Writer, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("open log %s: %w", path, err)
	}
	return &Writer{f: f, now: time.Now}, nil
}

// Close closes the log file; streams still open write nothing more.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}

// Stream returns a writer for one stream ("stdout" or "stderr"). Its Close flushes a trailing
// unterminated line as a full line; it does not close the Writer.
func (w *Writer) Stream(name string) io.WriteCloser {
	return &stream{w: w, name: name}
}

// writeLine writes one record; partial marks a chunk of a longer line.
func (w *Writer) writeLine(name string, content []byte, partial bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return os.ErrClosed
	}
	tag := byte('F')
	if partial {
		tag = 'P'
	}
	b := w.buf[:0]
	b = w.now().UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, ' ')
	b = append(b, name...)
	b = append(b, ' ', tag, ' ')
	b = append(b, content...)
	b = append(b, '\n')
	_, err := w.f.Write(b)
	if cap(b) <= 2*MaxLineSize {
		w.buf = b
	}
	return err
}

type stream struct {
	w       *Writer
	name    string
	pending []byte // bytes of an unterminated line
	closed  bool
}

func (s *stream) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			s.pending = append(s.pending, p...)
			p = nil
		} else {
			line := p[:i]
			p = p[i+1:]
			if len(s.pending) > 0 {
				s.pending = append(s.pending, line...)
				line = s.pending
			}
			if err := s.emit(line, true); err != nil {
				return n, err
			}
			s.pending = s.pending[:0]
		}
		// Flush full-size chunks of a long unterminated line as partial records.
		for len(s.pending) >= MaxLineSize {
			if err := s.w.writeLine(s.name, s.pending[:MaxLineSize], true); err != nil {
				return n, err
			}
			s.pending = append(s.pending[:0], s.pending[MaxLineSize:]...)
		}
	}
	if cap(s.pending) > 2*MaxLineSize && len(s.pending) == 0 {
		s.pending = nil
	}
	return n, nil
}

// emit writes a complete line, split into P chunks when it is longer than MaxLineSize; the last
// chunk is F when final.
func (s *stream) emit(line []byte, final bool) error {
	for len(line) > MaxLineSize {
		if err := s.w.writeLine(s.name, line[:MaxLineSize], true); err != nil {
			return err
		}
		line = line[MaxLineSize:]
	}
	return s.w.writeLine(s.name, line, !final)
}

func (s *stream) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	if len(s.pending) > 0 {
		err := s.emit(s.pending, true)
		s.pending = nil
		return err
	}
	return nil
}
