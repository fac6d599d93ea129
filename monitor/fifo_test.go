package monitor

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/podrun/podrun/internal/layout"
)

// fifoMonitor makes a monitor whose container id has an exec fifo, as libcontainer leaves
// it after create.
func fifoMonitor(t *testing.T) (*monitor, *monContainer, string) {
	t.Helper()
	m := &monitor{p: layout.Paths{State: t.TempDir()}}
	mc := &monContainer{id: "c1", done: make(chan struct{})}
	path := filepath.Join(m.p.Runc(), mc.id, "exec.fifo")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	return m, mc, path
}

func TestExecFifo(t *testing.T) {
	tests := []struct {
		name    string
		init    func(path string, mc *monContainer) // plays the container's init
		wantErr bool
	}{
		{"init waiting", func(path string, _ *monContainer) {
			w, err := os.OpenFile(path, os.O_WRONLY, 0) // blocks until execFifo opens
			if err == nil {
				w.Write([]byte("0")) //nolint:errcheck
				w.Close()
			}
		}, false},
		{"init died before opening", func(_ string, mc *monContainer) {
			time.Sleep(20 * time.Millisecond)
			close(mc.done)
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, mc, path := fifoMonitor(t)
			go tt.init(path, mc)
			errc := make(chan error, 1)
			go func() { errc <- m.execFifo(mc) }()
			select {
			case err := <-errc:
				if (err != nil) != tt.wantErr {
					t.Fatalf("execFifo: err %v, want error %v", err, tt.wantErr)
				}
				if _, serr := os.Stat(path); (serr == nil) != tt.wantErr {
					t.Errorf("fifo exists %v after execFifo, want %v", serr == nil, tt.wantErr)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("execFifo hangs")
			}
		})
	}
}
