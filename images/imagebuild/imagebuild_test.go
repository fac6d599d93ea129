package imagebuild

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestBusyboxDeterministic(t *testing.T) {
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("needs /bin/busybox (busybox-static)")
	}
	var ids []string
	for i := 0; i < 2; i++ {
		img, err := Busybox("/bin/busybox", FormatDocker)
		if err != nil {
			t.Fatal(err)
		}
		id, err := img.ConfigName()
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id.String())
	}
	if ids[0] != ids[1] {
		t.Errorf("two builds differ: %v", ids)
	}
}

func TestDirEntriesKeepsWhiteoutNames(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"a/.wh.gone", "a/.wh..wh..opq", "b"} {
		p := filepath.Join(dir, f)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("b", filepath.Join(dir, "l")); err != nil {
		t.Fatal(err)
	}
	entries, err := DirEntries(dir)
	if err != nil {
		t.Fatal(err)
	}
	data, err := LayerTar(entries)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]byte{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !h.ModTime.Equal(FixedTime) {
			t.Errorf("%s: mtime %v", h.Name, h.ModTime)
		}
		got[h.Name] = h.Typeflag
	}
	want := map[string]byte{"a/": tar.TypeDir, "a/.wh.gone": tar.TypeReg, "a/.wh..wh..opq": tar.TypeReg, "b": tar.TypeReg, "l": tar.TypeSymlink}
	if len(got) != len(want) {
		t.Errorf("entries %v, want %v", got, want)
	}
	for n, ty := range want {
		if got[n] != ty {
			t.Errorf("%s: type %q, want %q", n, got[n], ty)
		}
	}
}
