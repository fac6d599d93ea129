package crilog

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func fixedWriter(t *testing.T) (*Writer, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "0.log")
	w, err := NewWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	w.now = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC) }
	return w, path
}

const ts = "2026-01-02T03:04:05.000006Z"

func TestWriter(t *testing.T) {
	long := strings.Repeat("x", MaxLineSize+10)
	tests := []struct {
		name   string
		writes []string // alternate stdout writes
		want   []string
	}{
		{"one line", []string{"hello\n"}, []string{ts + " stdout F hello"}},
		{"two lines one write", []string{"a\nb\n"}, []string{ts + " stdout F a", ts + " stdout F b"}},
		{"split write", []string{"he", "llo\nwor", "ld\n"}, []string{ts + " stdout F hello", ts + " stdout F world"}},
		{"trailing unterminated", []string{"a\nrest"}, []string{ts + " stdout F a", ts + " stdout F rest"}},
		{"empty line", []string{"\n"}, []string{ts + " stdout F "}},
		{"long line", []string{long + "\n"}, []string{ts + " stdout P " + long[:MaxLineSize], ts + " stdout F " + long[MaxLineSize:]}},
		{"long unterminated in pieces", []string{long[:100], long[100:], "\n"}, []string{ts + " stdout P " + long[:MaxLineSize], ts + " stdout F " + long[MaxLineSize:]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, path := fixedWriter(t)
			s := w.Stream(Stdout)
			for _, p := range tt.writes {
				if _, err := s.Write([]byte(p)); err != nil {
					t.Fatal(err)
				}
			}
			s.Close()
			w.Close()
			b, _ := os.ReadFile(path)
			got := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("got %q\nwant %q", short(got), short(tt.want))
			}
		})
	}
}

func short(l []string) []string {
	out := make([]string, len(l))
	for i, s := range l {
		if len(s) > 80 {
			s = s[:80] + "…"
		}
		out[i] = s
	}
	return out
}

func TestStreamsInterleave(t *testing.T) {
	w, path := fixedWriter(t)
	o, e := w.Stream(Stdout), w.Stream(Stderr)
	o.Write([]byte("out"))
	e.Write([]byte("err\n"))
	o.Write([]byte("put\n"))
	o.Close()
	e.Close()
	w.Close()
	b, _ := os.ReadFile(path)
	want := ts + " stderr F err\n" + ts + " stdout F output\n"
	if string(b) != want {
		t.Errorf("got %q want %q", b, want)
	}
}

func TestRead(t *testing.T) {
	long := strings.Repeat("y", 2*MaxLineSize+5)
	content := "l1\nl2\n" + long + "\nl4\n"
	tests := []struct {
		name string
		opts ReadOptions
		want string
	}{
		{"all", ReadOptions{TailLines: -1}, content},
		{"tail 1", ReadOptions{TailLines: 1}, "l4\n"},
		{"tail 2 joins partials", ReadOptions{TailLines: 2}, long + "\nl4\n"},
		{"tail 0", ReadOptions{TailLines: 0}, ""},
		{"tail more than lines", ReadOptions{TailLines: 100}, content},
		{"timestamps", ReadOptions{TailLines: 1, Timestamps: true}, ts + " l4\n"},
	}
	w, path := fixedWriter(t)
	s := w.Stream(Stdout)
	s.Write([]byte(content))
	s.Close()
	w.Close()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := Read(context.Background(), path, tt.opts, &out); err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.want {
				t.Errorf("got %q want %q", short([]string{out.String()}), short([]string{tt.want}))
			}
		})
	}
}

func TestReadFollow(t *testing.T) {
	w, path := fixedWriter(t)
	s := w.Stream(Stdout)
	s.Write([]byte("first\n"))
	done := make(chan struct{})
	var out bytes.Buffer
	var stopped atomic.Bool
	go func() {
		defer close(done)
		err := Read(context.Background(), path, ReadOptions{Follow: true, TailLines: -1, Stop: func() bool { return stopped.Load() }}, &out)
		if err != nil {
			t.Error(err)
		}
	}()
	time.Sleep(150 * time.Millisecond)
	s.Write([]byte("second\n"))
	s.Close()
	w.Close()
	stopped.Store(true)
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.Fatal("follow did not stop")
	}
	if out.String() != "first\nsecond\n" {
		t.Errorf("got %q", out.String())
	}
}

func TestParseLine(t *testing.T) {
	tests := []struct {
		in      string
		partial bool
		content string
		ok      bool
	}{
		{ts + " stdout F hi", false, "hi", true},
		{ts + " stderr P hi there", true, "hi there", true},
		{ts + " stdout F ", false, "", true},
		{"garbage", false, "", false},
	}
	for _, tt := range tests {
		e, err := ParseLine([]byte(tt.in))
		if (err == nil) != tt.ok {
			t.Errorf("%q: err %v", tt.in, err)
			continue
		}
		if err == nil && (e.Partial != tt.partial || string(e.Content) != tt.content) {
			t.Errorf("%q: got %+v", tt.in, e)
		}
	}
}
