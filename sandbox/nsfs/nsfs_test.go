package nsfs

import (
	"os"
	"path/filepath"
	"testing"
)

// TestNewNetns: a new network namespace is pinned at the path, differs from ours, and none of
// our threads is left in it; Unpin removes it.
func TestNewNetns(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	own, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "netns", "pod")
	if err := NewNetns(target); err != nil {
		t.Fatal(err)
	}
	defer Unpin(target) //nolint:errcheck
	fi, err := os.Stat(target)
	if err != nil {
		t.Fatal(err)
	}
	var ownStat, pinStat os.FileInfo
	if ownStat, err = os.Stat("/proc/self/ns/net"); err != nil {
		t.Fatal(err)
	}
	pinStat = fi
	if os.SameFile(ownStat, pinStat) {
		t.Error("the pinned namespace is our own")
	}
	tasks, _ := filepath.Glob("/proc/self/task/*/ns/net")
	for _, task := range tasks {
		if l, err := os.Readlink(task); err == nil && l != own {
			t.Errorf("thread %s is in %s, not in our namespace %s", task, l, own)
		}
	}
	if err := LoopbackUp(target); err != nil {
		t.Errorf("loopback up in the new namespace: %v", err)
	}
	if err := NewNetns(target); err == nil {
		t.Error("a second namespace on the same path")
	}
	if err := Unpin(target); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Errorf("after Unpin: %v", err)
	}
}
