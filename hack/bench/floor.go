package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	_ "github.com/opencontainers/cgroups/devices"
	"github.com/opencontainers/runc/libcontainer"
	_ "github.com/opencontainers/runc/libcontainer/nsenter"

	"github.com/podrun/podrun/runtime"
)

// libcontainer re-executes this binary as "<exe> init" inside each new container (the same
// hook as cmd/podrun): the nsenter constructor has already run, Init never returns.
func init() {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		libcontainer.Init()
	}
}

// floor measures the raw libcontainer figures podrun is compared with: create+start and the
// full create/start/wait/destroy of a busybox container, and an exec into a running one.
func (b *bench) floor(runs int) (createStart, total, execD time.Duration, err error) {
	rootfs, err := busyboxRootfs(filepath.Join(b.dir, "floor-rootfs"))
	if err != nil {
		return 0, 0, 0, err
	}
	ctx := context.Background()
	stateDir := filepath.Join(b.dir, "floor-state")
	var css, tots, execs []time.Duration
	for i := 0; i < runs+1; i++ {
		cs, tot, err := runtime.FloorCreateStart(ctx, stateDir, rootfs, []string{"/bin/true"})
		if err != nil {
			return 0, 0, 0, fmt.Errorf("FloorCreateStart: %w", err)
		}
		if i > 0 {
			css, tots = append(css, cs), append(tots, tot)
		}
	}
	for i := 0; i < runs+1; i++ {
		d, err := runtime.FloorExec(ctx, stateDir, rootfs, []string{"/bin/true"})
		if err != nil {
			return median(css), median(tots), 0, fmt.Errorf("FloorExec: %w", err)
		}
		if i > 0 {
			execs = append(execs, d)
		}
	}
	return median(css), median(tots), median(execs), nil
}

// busyboxRootfs makes a minimal root filesystem from the host's static busybox.
func busyboxRootfs(dir string) (string, error) {
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return "", fmt.Errorf("floor rootfs needs busybox-static: %w", err)
	}
	for _, d := range []string{"bin", "proc", "dev", "sys", "tmp", "etc"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return "", err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "bin", "busybox"), bb, 0o755); err != nil {
		return "", err
	}
	for _, applet := range []string{"sh", "true", "sleep", "cat"} {
		if err := os.Symlink("busybox", filepath.Join(dir, "bin", applet)); err != nil && !os.IsExist(err) {
			return "", err
		}
	}
	return dir, nil
}
