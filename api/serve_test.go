package api_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/api/apitest"
)

func TestServeReplacesStaleSocketAndRefusesLiveOne(t *testing.T) {
	dir, err := os.MkdirTemp("", "podrun-serve")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "sub", "podrun.sock")
	os.MkdirAll(filepath.Dir(sock), 0o755)
	// A stale socket: the file of a listener that is gone.
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	if _, err := os.Stat(sock); err != nil {
		t.Fatalf("stale socket not left behind: %v", err)
	}

	h := api.NewHandler(apitest.NewFakePods(t), &apitest.FakeImages{}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- api.Serve(ctx, sock, "", h, nil) }()
	deadline := time.Now().Add(5 * time.Second)
	for !api.Alive(sock) {
		if time.Now().After(deadline) {
			t.Fatal("server did not come up on the stale socket")
		}
		time.Sleep(20 * time.Millisecond)
	}
	st, err := os.Stat(sock)
	if err != nil || st.Mode().Perm() != 0o660 {
		t.Errorf("socket mode = %v, %v; want 0660", st.Mode(), err)
	}
	err = api.Serve(context.Background(), sock, "", h, nil)
	if err == nil || !strings.Contains(err.Error(), "another podrun daemon is answering") {
		t.Errorf("second Serve err = %v", err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve after cancel: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("socket left behind after shutdown: %v", err)
	}
	if err := api.Serve(context.Background(), sock, "no-such-group-podrun", h, nil); err == nil || !strings.Contains(err.Error(), "socket group") {
		t.Errorf("unknown group err = %v", err)
	}
}
