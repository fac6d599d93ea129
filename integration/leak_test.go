package integration

import (
	"os"
	"strconv"
	"testing"
	"time"
)

// 50 create/delete cycles leave nothing behind: mounts, cgroups, processes, pinned
// namespaces, state directories; and the daemon's own file descriptors do not grow.
func TestNoLeaksAfter50Cycles(t *testing.T) {
	e := newEnv(t)
	cycles := 50
	if v, err := strconv.Atoi(os.Getenv("PODRUN_LEAK_CYCLES")); err == nil && v > 0 {
		cycles = v
	}
	manifest := `apiVersion: v1
kind: Pod
metadata:
  name: cycle
spec:
  terminationGracePeriodSeconds: 5
  containers:
  - name: main
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]
    volumeMounts:
    - {name: scratch, mountPath: /scratch}
  volumes:
  - name: scratch
    emptyDir: {}
`
	path := writeYAML(t, manifest)
	fds := func() int { return len(dirEntries("/proc/" + strconv.Itoa(e.daemonPid()) + "/fd")) }
	var fdsAt5 int
	start := time.Now()
	for i := 1; i <= cycles; i++ {
		if _, stderr, code := e.podrun("run", "--wait", path); code != 0 {
			t.Fatalf("cycle %d: run --wait: exit %d: %s", i, code, stderr)
		}
		if _, stderr, code := e.podrun("delete", "pod", "cycle"); code != 0 {
			t.Fatalf("cycle %d: delete: exit %d: %s", i, code, stderr)
		}
		if err := e.waitNoPods(30 * time.Second); err != nil {
			t.Fatalf("cycle %d: %v", i, err)
		}
		if i == 1 {
			// The first cycle must already be clean.
			e.checkNoLeaks()
			if t.Failed() {
				t.FailNow()
			}
		}
		if i == 5 {
			fdsAt5 = fds()
		}
	}
	t.Logf("%d cycles in %v", cycles, time.Since(start))
	e.checkNoLeaks()
	if cycles >= 10 {
		if now := fds(); now > fdsAt5+5 {
			t.Errorf("daemon file descriptors grew from %d (cycle 5) to %d (cycle %d)", fdsAt5, now, cycles)
		}
	}
}
