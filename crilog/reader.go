package crilog

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// ReadOptions select what Read prints.
type ReadOptions struct {
	// Follow keeps reading as the file grows (podrun logs -f).
	Follow bool
	// Timestamps prefixes each line with its RFC3339Nano timestamp and a space.
	Timestamps bool
	// TailLines prints only the last N full lines; -1 (or any negative) prints all.
	TailLines int
	// Stop is called in follow mode each time the end of the file is reached: true means no
	// more lines will come (the container exited), so Read returns. Nil: follow until ctx ends.
	Stop func() bool
}

// pollInterval is how often a followed file is re-read at EOF.
const pollInterval = 100 * time.Millisecond

// Entry is one parsed CRI log record.
type Entry struct {
	Timestamp string // as written, RFC3339Nano
	Stream    string
	Partial   bool
	Content   []byte
}

// ParseLine parses one record without its trailing newline.
func ParseLine(line []byte) (Entry, error) {
	var e Entry
	i := bytes.IndexByte(line, ' ')
	if i < 0 {
		return e, fmt.Errorf("crilog: no timestamp in %q", line)
	}
	e.Timestamp = string(line[:i])
	line = line[i+1:]
	i = bytes.IndexByte(line, ' ')
	if i < 0 {
		return e, fmt.Errorf("crilog: no stream in %q", line)
	}
	e.Stream = string(line[:i])
	line = line[i+1:]
	// The tag is optional in the oldest CRI format; treat its absence as a full line.
	if len(line) >= 2 && (line[0] == 'P' || line[0] == 'F') && line[1] == ' ' {
		e.Partial = line[0] == 'P'
		line = line[2:]
	} else if len(line) == 1 && (line[0] == 'P' || line[0] == 'F') {
		e.Partial = line[0] == 'P'
		line = line[1:]
	}
	e.Content = line
	return e, nil
}

// Read prints the log file at path to w, joining partial records into whole lines. A missing
// file is an error wrapping os.ErrNotExist.
func Read(ctx context.Context, path string, opts ReadOptions, w io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read log %s: %w", path, err)
	}
	defer f.Close()

	start := int64(0)
	if opts.TailLines >= 0 {
		start, err = tailOffset(f, opts.TailLines)
		if err != nil {
			return fmt.Errorf("read log %s: %w", path, err)
		}
	}
	if _, err := f.Seek(start, io.SeekStart); err != nil {
		return fmt.Errorf("read log %s: %w", path, err)
	}

	r := bufio.NewReaderSize(f, 64*1024)
	var (
		line    []byte // bytes of the current record, possibly read in several tries
		joined  []byte // content of partial records waiting for their F record
		firstTS string // timestamp of the first fragment of the joined line
	)
	for {
		chunk, err := r.ReadSlice('\n')
		line = append(line, chunk...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err == io.EOF {
			if !opts.Follow {
				return nil
			}
			// An incomplete record stays in line until its newline arrives.
			if opts.Stop != nil && opts.Stop() {
				// One last read: the writer may have flushed right before exiting.
				rest, _ := io.ReadAll(r)
				line = append(line, rest...)
				for len(line) > 0 {
					i := bytes.IndexByte(line, '\n')
					if i < 0 {
						break
					}
					if err := printRecord(w, line[:i], opts, &joined, &firstTS); err != nil {
						return err
					}
					line = line[i+1:]
				}
				return nil
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(pollInterval):
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("read log %s: %w", path, err)
		}
		if err := printRecord(w, line[:len(line)-1], opts, &joined, &firstTS); err != nil {
			return err
		}
		line = line[:0]
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

func printRecord(w io.Writer, rec []byte, opts ReadOptions, joined *[]byte, firstTS *string) error {
	e, err := ParseLine(rec)
	if err != nil {
		return nil // skip garbage rather than failing the whole read
	}
	if e.Partial {
		if len(*joined) == 0 {
			*firstTS = e.Timestamp
		}
		*joined = append(*joined, e.Content...)
		return nil
	}
	ts := e.Timestamp
	content := e.Content
	if len(*joined) > 0 {
		ts = *firstTS
		content = append(*joined, content...)
		*joined = (*joined)[:0]
	}
	var out []byte
	if opts.Timestamps {
		out = append(out, ts...)
		out = append(out, ' ')
	}
	out = append(out, content...)
	out = append(out, '\n')
	_, err = w.Write(out)
	return err
}

// tailOffset returns the offset of the first record of the last n full lines (a full line
// being the F record ending it together with its P fragments).
func tailOffset(f *os.File, n int) (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	size := st.Size()
	if n == 0 {
		return size, nil
	}
	// Scan backwards in blocks, counting F records (lines ending a whole log line).
	const block = 32 * 1024
	var (
		pos     = size
		count   = 0
		carried []byte
	)
	for pos > 0 {
		sz := int64(block)
		if pos < sz {
			sz = pos
		}
		pos -= sz
		buf := make([]byte, sz)
		if _, err := f.ReadAt(buf, pos); err != nil && err != io.EOF {
			return 0, err
		}
		carried = append(buf, carried...)
		// Process complete records from the end of carried: each starts after a '\n' (or at 0
		// when pos == 0).
		for {
			end := len(carried)
			if end > 0 && carried[end-1] == '\n' {
				end--
			}
			i := bytes.LastIndexByte(carried[:end], '\n')
			if i < 0 && pos > 0 {
				break // record start not in the buffer yet
			}
			rec := carried[i+1 : end]
			if len(rec) == 0 && i < 0 {
				break
			}
			if e, err := ParseLine(rec); err == nil && !e.Partial {
				count++
				if count > n {
					return pos + int64(i+1) + int64(len(rec)) + 1, nil
				}
			}
			carried = carried[:i+1]
			if i < 0 {
				break
			}
		}
	}
	return 0, nil
}
