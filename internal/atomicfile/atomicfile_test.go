package atomicfile

import (
	"os"
	"path/filepath"
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
