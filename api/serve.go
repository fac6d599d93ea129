package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"time"
)

// Serve listens on the unix socket socketPath and serves h until ctx ends, then stops
// accepting, lets running requests finish for a moment, and returns. The socket is mode 0660,
// owned by root and by group (when not empty) so that its members may use podrun without
// root. A stale socket (no daemon answering) is removed; a live one is an error: two daemons
// must never share a socket.
func Serve(ctx context.Context, socketPath, group string, h http.Handler, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.Default()
	}
	if err := os.MkdirAll(filepath.Dir(socketPath), 0o755); err != nil {
		return fmt.Errorf("socket directory: %w", err)
	}
	if Alive(socketPath) {
		return fmt.Errorf("another podrun daemon is answering on %s", socketPath)
	}
	if err := os.Remove(socketPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove stale socket %s: %w", socketPath, err)
	}
	gid := -1
	if group != "" {
		g, err := user.LookupGroup(group)
		if err != nil {
			return fmt.Errorf("socket group %q: %w", group, err)
		}
		gid, err = strconv.Atoi(g.Gid)
		if err != nil {
			return fmt.Errorf("socket group %q: gid %q: %w", group, g.Gid, err)
		}
	}
	ln, err := net.Listen("unix", socketPath)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", socketPath, err)
	}
	// Go's listener unlinks the socket on Close; a later daemon must find none of ours.
	defer ln.Close()
	if err := os.Chmod(socketPath, 0o660); err != nil {
		return fmt.Errorf("chmod %s: %w", socketPath, err)
	}
	if gid >= 0 || os.Geteuid() == 0 {
		if gid < 0 {
			gid = 0
		}
		if err := os.Chown(socketPath, 0, gid); err != nil && os.Geteuid() == 0 {
			return fmt.Errorf("chown %s: %w", socketPath, err)
		}
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info("serving the podrun API", "socket", socketPath)
	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", socketPath, err)
	case <-ctx.Done():
	}
	// Streams (logs -f, watch, exec) never end by themselves: give them a moment, then cut.
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	return nil
}

// Alive reports whether a podrun daemon answers /healthz on socketPath.
func Alive(socketPath string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return NewClient(socketPath).Ping(ctx) == nil
}
