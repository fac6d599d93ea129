package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/podrun/podrun/sandbox/nsfs"
	"github.com/podrun/podrun/sandbox/pauseproc"
)

// pauseRootfs makes a pause rootfs: an empty dev dir and a pause file.
func pauseRootfs(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), "rootfs")
	if err := os.MkdirAll(filepath.Join(dir, PauseDevDir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, PauseBinaryFile), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestPauseSetup runs this test binary (which links pause_setup.c and pause.c) as the monitor
// runs podrun to make a pause, and looks at the process from outside: the pinned namespaces
// joined, uid and gid 65535, no capability in any set, no_new_privs, its own session, exactly
// a read-only /, an empty read-only /dev and /pause in its mount table, "/pause pause" running;
// with NewPID, PID 1 of its own pid namespace. A setup that cannot be done reports why.
func TestPauseSetup(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root (namespaces, mounts, setuid)")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	pins := t.TempDir()
	ns := nsfs.PodNamespaces{Net: filepath.Join(pins, "net"), IPC: filepath.Join(pins, "ipc"), UTS: filepath.Join(pins, "uts"), Hostname: "setuptest"}
	if err := nsfs.NewPodNamespaces(ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, p := range []string{ns.Net, ns.IPC, ns.UTS} {
			nsfs.Unpin(p) //nolint:errcheck
		}
	})
	for _, newPID := range []bool{false, true} {
		t.Run(fmt.Sprintf("newpid=%v", newPID), func(t *testing.T) {
			c := &pauseproc.Config{Binary: self, Rootfs: pauseRootfs(t), UID: PauseUID, OOMScoreAdj: 500,
				Net: ns.Net, IPC: ns.IPC, UTS: ns.UTS, NewPID: newPID}
			p, err := pauseproc.Start(c, nil)
			if err != nil {
				t.Fatal(err)
			}
			pid := p.Pid
			defer func() {
				if pid != 0 { // not reaped yet: never signal a pid that may be another's by now
					unix.Kill(pid, unix.SIGKILL) //nolint:errcheck
					var ws unix.WaitStatus
					unix.Wait4(pid, &ws, 0, nil) //nolint:errcheck
				}
			}()
			if err := p.Wait(); err != nil {
				t.Fatal(err)
			}
			proc := func(f string) string {
				b, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, f))
				if err != nil {
					t.Fatal(err)
				}
				return string(b)
			}
			status := map[string]string{}
			for _, l := range strings.Split(proc("status"), "\n") {
				if k, v, ok := strings.Cut(l, ":"); ok {
					status[k] = strings.Join(strings.Fields(v), " ")
				}
			}
			for k, want := range map[string]string{
				"Uid": "65535 65535 65535 65535", "Gid": "65535 65535 65535 65535", "Groups": "",
				"CapInh": "0000000000000000", "CapPrm": "0000000000000000", "CapEff": "0000000000000000",
				"CapBnd": "0000000000000000", "CapAmb": "0000000000000000", "NoNewPrivs": "1",
			} {
				if status[k] != want {
					t.Errorf("%s = %q, want %q", k, status[k], want)
				}
			}
			nspid := strings.Fields(status["NSpid"])
			if got := len(nspid) == 2 && nspid[1] == "1"; got != newPID {
				t.Errorf("NSpid %v: PID 1 of a new pid namespace = %v, want %v", nspid, got, newPID)
			}
			if got := strings.TrimSpace(proc("oom_score_adj")); got != "500" {
				t.Errorf("oom_score_adj %s, want 500", got)
			}
			if got := proc("cmdline"); got != "/pause\x00pause\x00" {
				t.Errorf("cmdline %q", got)
			}
			if sid, _ := unix.Getsid(pid); sid != pid {
				t.Errorf("session %d, want its own (%d)", sid, pid)
			}
			for kind, pinned := range map[string]string{"net": ns.Net, "ipc": ns.IPC, "uts": ns.UTS} {
				if got, want := inode(t, fmt.Sprintf("/proc/%d/ns/%s", pid, kind)), inode(t, pinned); got != want {
					t.Errorf("%s namespace %d, pinned %d", kind, got, want)
				}
			}
			var points []string
			for _, l := range strings.Split(strings.TrimSpace(proc("mountinfo")), "\n") {
				f := strings.Fields(l)
				points = append(points, f[4])
				if !slices.Contains(strings.Split(f[5], ","), "ro") {
					t.Errorf("mount %s is not read-only: %s", f[4], l)
				}
			}
			if want := []string{"/", "/dev", "/pause"}; !slices.Equal(points, want) {
				t.Errorf("mounts %v, want %v", points, want)
			}
			// SIGTERM once /pause's constructor handles it: before that it would kill the
			// pause (or, as PID 1 of its own pid namespace, be dropped).
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
				var cgt uint64
				for _, l := range strings.Split(proc("status"), "\n") {
					if v, ok := strings.CutPrefix(l, "SigCgt:"); ok {
						cgt, _ = strconv.ParseUint(strings.TrimSpace(v), 16, 64)
					}
				}
				if cgt&(1<<(unix.SIGTERM-1)) != 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("pause handles no SIGTERM after 5 s (SigCgt %x)", cgt)
				}
			}
			if err := unix.Kill(pid, unix.SIGTERM); err != nil {
				t.Fatal(err)
			}
			// Bounded: a pause that ignored the signal must not hang the test (and a test
			// killed by its timeout runs no deferred kill, leaving the pause behind).
			var ws unix.WaitStatus
			var got int
			for deadline := time.Now().Add(5 * time.Second); got == 0 && err == nil && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
				got, err = unix.Wait4(pid, &ws, unix.WNOHANG, nil)
			}
			if got == pid {
				pid = 0
			}
			if got != p.Pid || !ws.Exited() || ws.ExitStatus() != 0 {
				t.Errorf("pause after SIGTERM: reaped %d, %v, status %#x", got, err, uint32(ws))
			}
		})
	}

	// A rootfs without /dev: the setup says which step failed, and exits.
	bad := &pauseproc.Config{Binary: self, Rootfs: t.TempDir(), UID: PauseUID, OOMScoreAdj: 500}
	p, err := pauseproc.Start(bad, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = p.Wait()
	var ws unix.WaitStatus
	unix.Wait4(p.Pid, &ws, 0, nil) //nolint:errcheck
	if err == nil || !strings.Contains(err.Error(), "mount") || !strings.Contains(err.Error(), "/dev") {
		t.Errorf("setup without a dev dir: %v", err)
	}
	if !ws.Exited() || ws.ExitStatus() != 1 {
		t.Errorf("failed setup: status %#x, want exit 1", uint32(ws))
	}
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}
