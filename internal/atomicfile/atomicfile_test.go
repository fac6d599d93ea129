package atomicfile

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// WriteFileDeferSync: the file is in place, complete and with its mode before sync; no
// temporary file is left; a write that cannot happen leaves nothing.
func TestWriteFileDeferSync(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pod.json")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	sync, err := WriteFileDeferSync(path, []byte("new\n"), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "new\n" {
		t.Errorf("before sync: %q, %v", b, err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, %v", st.Mode(), err)
	}
	if err := sync(); err != nil {
		t.Fatalf("sync: %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("dir holds %d entries, want pod.json only", len(ents))
	}
	if _, err := WriteFileDeferSync(filepath.Join(dir, "missing", "pod.json"), []byte("x"), 0o600); err == nil {
		t.Error("write into a missing directory succeeded")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("a failed write left %d entries", len(ents))
	}
}

// ReplaceDurable: the first write creates the file, later ones swap it with the reused
// sibling, which then holds the previous content; the file's inode changes each time, the
// pair's does not.
func TestReplaceDurable(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pod.json")
	next := filepath.Join(dir, ".pod.json.next")
	ino := func(p string) uint64 {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return st.Sys().(*syscall.Stat_t).Ino
	}
	for i, content := range []string{"one", "two", "three"} {
		if err := ReplaceDurable(path, []byte(content), 0o600); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		if b, err := os.ReadFile(path); err != nil || string(b) != content {
			t.Errorf("write %d: file holds %q, %v", i, b, err)
		}
		if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
			t.Errorf("write %d: mode %v", i, st.Mode())
		}
	}
	if b, err := os.ReadFile(next); err != nil || string(b) != "two" {
		t.Errorf("sibling holds %q, %v; want the previous content", b, err)
	}
	a, b := ino(path), ino(next)
	if err := ReplaceDurable(path, []byte("four"), 0o600); err != nil {
		t.Fatal(err)
	}
	if ino(path) != b || ino(next) != a {
		t.Errorf("inodes %d/%d -> %d/%d: not exchanged", a, b, ino(path), ino(next))
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Errorf("dir holds %d entries, want the file and its sibling", len(ents))
	}
}
