package monitor

import (
	"syscall"
	"testing"
	"time"
)

func TestExitRecord(t *testing.T) {
	started := time.Now()
	tests := []struct {
		name   string
		ws     syscall.WaitStatus
		oom    bool
		code   int
		signal int
		reason string
	}{
		{"exit 0", syscall.WaitStatus(0), false, 0, 0, "Completed"},
		{"exit 3", syscall.WaitStatus(3 << 8), false, 3, 0, "Error"},
		{"SIGKILL", syscall.WaitStatus(9), false, 137, 9, "Error"},
		{"SIGTERM", syscall.WaitStatus(15), false, 143, 15, "Error"},
		{"OOM", syscall.WaitStatus(9), true, 137, 9, "OOMKilled"},
	}
	for _, tt := range tests {
		r := exitRecord(tt.ws, started, tt.oom)
		if r.ExitCode != tt.code || r.Signal != tt.signal || r.Reason != tt.reason || !r.StartedAt.Equal(started) || r.FinishedAt.IsZero() {
			t.Errorf("%s: %+v", tt.name, r)
		}
	}
}
