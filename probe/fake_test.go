package probe

import (
	"context"
	"fmt"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podrun/podrun/cri"
)

// fakeExecer answers ExecSync from a function and records the calls.
type fakeExecer struct {
	mu    sync.Mutex
	calls [][]string
	fn    func(ctx context.Context, cmd []string, timeout time.Duration) (*cri.ExecResult, error)
}

func (f *fakeExecer) ExecSync(ctx context.Context, id string, cmd []string, timeout time.Duration) (*cri.ExecResult, error) {
	f.mu.Lock()
	f.calls = append(f.calls, cmd)
	f.mu.Unlock()
	return f.fn(ctx, cmd, timeout)
}

func exitWith(code int, stdout, stderr string) *fakeExecer {
	return &fakeExecer{fn: func(context.Context, []string, time.Duration) (*cri.ExecResult, error) {
		return &cri.ExecResult{ExitCode: code, Stdout: []byte(stdout), Stderr: []byte(stderr)}, nil
	}}
}

// timedOut behaves as the runtime does at the timeout: ExitCode -1 and DeadlineExceeded.
func timedOut() *fakeExecer {
	return &fakeExecer{fn: func(context.Context, []string, time.Duration) (*cri.ExecResult, error) {
		return &cri.ExecResult{ExitCode: -1}, fmt.Errorf("exec: %w", context.DeadlineExceeded)
	}}
}

// scripted returns results from a sequence (the last repeats): 0 = exit 0, else exit 1.
type scripted struct {
	mu    sync.Mutex
	codes []int
	n     int
}

func (s *scripted) ExecSync(ctx context.Context, id string, cmd []string, timeout time.Duration) (*cri.ExecResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.codes[min(s.n, len(s.codes)-1)]
	s.n++
	if c == 0 {
		return &cri.ExecResult{}, nil
	}
	return &cri.ExecResult{ExitCode: c, Stderr: []byte("cat: can't open '/tmp/healthy': No such file or directory\n")}, nil
}

func (s *scripted) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

func metaPod() metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "uid-1"}
}
