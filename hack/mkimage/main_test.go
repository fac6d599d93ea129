package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/podrun/podrun/images"
)

func needBusybox(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("needs /bin/busybox (busybox-static)")
	}
}

func load(t *testing.T, archive string) (*images.Store, string) {
	t.Helper()
	s, err := images.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	imgs, err := s.Load(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 1 {
		t.Fatalf("loaded %d images", len(imgs))
	}
	return s, imgs[0].ID
}

func TestDirImage(t *testing.T) {
	dir := t.TempDir()
	rootfs, layer := filepath.Join(dir, "rootfs"), filepath.Join(dir, "layer")
	for _, f := range []string{"rootfs/a/keep", "rootfs/a/gone", "layer/a/.wh.gone"} {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, format := range []string{"docker", "oci"} {
		t.Run(format, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "x.tar")
			err := run("dir", []string{"--rootfs", rootfs, "--layer", layer, "-o", out, "-t", "test/x:1",
				"--entrypoint", `["/bin/sh","-c"]`, "--cmd", `["echo hi"]`, "--env", "A=1", "--env", "B=2",
				"--workdir", "/a", "--user", "1000:1000", "--stopsignal", "SIGINT", "--format", format})
			if err != nil {
				t.Fatal(err)
			}
			s, id := load(t, out)
			img, err := s.ImageStatus(context.Background(), "test/x:1")
			if err != nil {
				t.Fatal(err)
			}
			c := img.Config
			if img.ID != id || len(img.Layers) != 2 || strings.Join(c.Entrypoint, " ") != "/bin/sh -c" ||
				strings.Join(c.Cmd, " ") != "echo hi" || strings.Join(c.Env, " ") != "A=1 B=2" ||
				c.WorkingDir != "/a" || c.User != "1000:1000" || c.StopSignal != "SIGINT" {
				t.Errorf("image = %+v", img)
			}
		})
	}
	for _, args := range [][]string{
		{"dir", "-o", "x.tar", "-t", "x"},                                 // no --rootfs
		{"dir", "--rootfs", dir, "-o", "x.tar"},                           // no -t
		{"dir", "--rootfs", dir, "-o", "x.tar", "-t", "x", "--cmd", "sh"}, // not JSON
		{"busybox"}, // no -o
		{"busybox", "-o", "x.tar", "--format", "zip"},
		{"nosuch", "-o", "x.tar"},
	} {
		if err := run(args[0], args[1:]); err == nil {
			t.Errorf("mkimage %q: want error", args)
		}
	}
}

// TestDemoappImage builds the demoapp image as `make images` does, mounts it and runs the
// binary chrooted into the rootfs: it proves the binary is static and the image complete.
func TestDemoappImage(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	needBusybox(t)
	out := filepath.Join(t.TempDir(), "demoapp.tar")
	if err := run("demoapp", []string{"-o", out, "--src", "../demoapp"}); err != nil {
		t.Fatal(err)
	}
	s, id := load(t, out)
	img, err := s.ImageStatus(context.Background(), "ikubernetes/demoapp:v1.0")
	if err != nil || img.ID != id {
		t.Fatalf("ImageStatus: %v", err)
	}
	if strings.Join(img.Config.Entrypoint, " ") != "/usr/local/bin/demoapp" || img.Config.StopSignal != "SIGTERM" || len(img.Layers) != 2 {
		t.Errorf("config = %+v", img)
	}
	base := t.TempDir()
	snap, target := filepath.Join(base, "snap"), filepath.Join(base, "rootfs")
	if err := s.MountRootfs(context.Background(), id, snap, target); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.UnmountRootfs(target, snap); err != nil {
			t.Error(err)
		}
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	cmd := exec.Command("/usr/local/bin/demoapp")
	cmd.Dir = "/"
	cmd.Env = []string{"PORT=" + port, "HOST=127.0.0.1"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: target}
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var body string
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://127.0.0.1:" + port + "/")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("demoapp did not answer: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.HasPrefix(body, "iKubernetes demoapp v1.0 !! ClientIP: 127.0.0.1, ServerName: ") {
		t.Errorf("GET / = %q", body)
	}
}
