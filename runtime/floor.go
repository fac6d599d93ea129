package runtime

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/specconv"
	"golang.org/x/sys/unix"

	"github.com/podrun/podrun/runner"
)

// The floors are what `make bench` compares podrun with: bare libcontainer in the caller's
// process, no monitor, no pod, no network. The caller's binary must handle "init" (call
// libcontainer.Init) and import libcontainer/nsenter, as cmd/podrun does.

// floorContainer creates a bare container from specconv.Example (new namespaces, no network
// setup) running args on rootfs, under stateDir.
func floorContainer(stateDir, rootfs string, args []string) (*libcontainer.Container, *libcontainer.Process, error) {
	if len(args) == 0 {
		return nil, nil, errors.New("floor: empty command")
	}
	rootfs, err := filepath.Abs(rootfs)
	if err != nil {
		return nil, nil, err
	}
	if stateDir, err = filepath.Abs(stateDir); err != nil {
		return nil, nil, err
	}
	id, err := newID()
	if err != nil {
		return nil, nil, err
	}
	spec := specconv.Example()
	spec.Root.Path = rootfs // absolute: specconv would resolve it against our cwd
	spec.Process.Terminal = false
	spec.Process.Args = args
	spec.Hostname = "floor"
	spec.Linux.CgroupsPath = "/podrun-floor/" + id
	cfg, err := specconv.CreateLibcontainerConfig(&specconv.CreateOpts{CgroupName: id, Spec: spec})
	if err != nil {
		return nil, nil, fmt.Errorf("floor: %w", err)
	}
	proc, err := newProcess(spec.Process, true)
	if err != nil {
		return nil, nil, err
	}
	c, err := libcontainer.Create(filepath.Join(stateDir, "runc"), id, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("floor: %w", err)
	}
	return c, proc, nil
}

// FloorCreateStart creates and starts a bare container running args (createStart), then waits
// for it and destroys it (total, from the beginning).
func FloorCreateStart(ctx context.Context, stateDir, rootfs string, args []string) (createStart, total time.Duration, err error) {
	t0 := time.Now()
	c, proc, err := floorContainer(stateDir, rootfs, args)
	if err != nil {
		return 0, 0, err
	}
	if err := c.Run(proc); err != nil {
		c.Destroy() //nolint:errcheck
		return 0, 0, fmt.Errorf("floor: run: %w", err)
	}
	createStart = time.Since(t0)
	if _, err := proc.Wait(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			c.Destroy() //nolint:errcheck
			return 0, 0, fmt.Errorf("floor: wait: %w", err)
		}
	}
	if err := c.Destroy(); err != nil {
		return 0, 0, fmt.Errorf("floor: destroy: %w", err)
	}
	removeCgroup("/podrun-floor") //nolint:errcheck // only empty dirs go
	return createStart, time.Since(t0), ctx.Err()
}

// FloorExec starts a bare container that sleeps, then measures one exec of args into it
// (start to exit), and destroys the container.
func FloorExec(ctx context.Context, stateDir, rootfs string, args []string) (time.Duration, error) {
	c, proc, err := floorContainer(stateDir, rootfs, []string{"sleep", "1000"})
	if err != nil {
		return 0, err
	}
	if err := c.Run(proc); err != nil {
		c.Destroy() //nolint:errcheck
		return 0, fmt.Errorf("floor: run: %w", err)
	}
	defer func() {
		c.Signal(unix.SIGKILL)        //nolint:errcheck
		proc.Wait()                   //nolint:errcheck
		c.Destroy()                   //nolint:errcheck
		removeCgroup("/podrun-floor") //nolint:errcheck
	}()
	cfg := c.Config()
	t0 := time.Now()
	p := &libcontainer.Process{Args: args, Env: []string{"PATH=/bin:/usr/bin:/sbin:/usr/sbin"}, Cwd: "/", Init: false, Capabilities: cfg.Capabilities, LogLevel: runner.InitLogLevel}
	if err := c.Run(p); err != nil {
		return 0, fmt.Errorf("floor: exec: %w", err)
	}
	if _, err := p.Wait(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return 0, fmt.Errorf("floor: exec wait: %w", err)
		}
	}
	return time.Since(t0), ctx.Err()
}
