package images

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestClassifyWhiteout(t *testing.T) {
	tests := []struct {
		base    string
		kind    whiteoutKind
		name    string
		wantErr bool
	}{
		{"file", notWhiteout, "", false},
		{".hidden", notWhiteout, "", false},
		{".wh.file", whiteoutFile, "file", false},
		{".wh..hidden", whiteoutFile, ".hidden", false},
		{".wh..wh..opq", whiteoutDir, "", false},
		{".wh.", notWhiteout, "", true},
		{".wh..", notWhiteout, "", true},
		{".wh...", notWhiteout, "", true},
		{".wh..wh.x", notWhiteout, "", true},
		{"x.wh.y", notWhiteout, "", false},
	}
	for _, tt := range tests {
		kind, name, err := classifyWhiteout(tt.base)
		if (err != nil) != tt.wantErr || kind != tt.kind || name != tt.name {
			t.Errorf("classifyWhiteout(%q) = %v, %q, %v; want %v, %q, err=%v", tt.base, kind, name, err, tt.kind, tt.name, tt.wantErr)
		}
	}
}

func TestSafeJoin(t *testing.T) {
	root := t.TempDir()
	// Symlinks inside the layer that point outside it must be resolved inside root.
	for name, target := range map[string]string{"abs": "/etc", "up": "../../../..", "rel": "sub"} {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct{ name, want string }{
		{"a/b", "a/b"},
		{"./a/b/", "a/b"},
		{"/abs/x", "etc/x"},
		{"../../etc/passwd", "etc/passwd"},
		{"a/../../b", "b"},
		{"abs/passwd", "etc/passwd"},
		{"up/x", "x"},
		{"up/../../y", "y"},
		{"rel/f", "sub/f"},
		{"abs", "abs"}, // the last component is not followed: an entry replaces the link
		{".", ""},
	}
	for _, tt := range tests {
		got, err := safeJoin(root, tt.name)
		if err != nil {
			t.Errorf("safeJoin(%q): %v", tt.name, err)
			continue
		}
		if want := filepath.Join(root, tt.want); got != want {
			t.Errorf("safeJoin(%q) = %q, want %q", tt.name, got, want)
		}
	}
}

func TestWithin(t *testing.T) {
	tests := []struct {
		p    string
		want bool
	}{
		{"/r", true}, {"/r/a", true}, {"/r/a/../b", true}, {"/r/..x", true},
		{"/", false}, {"/rx", false}, {"/r/../x", false}, {"/x/r", false},
	}
	for _, tt := range tests {
		if got := within("/r", filepath.Clean(tt.p)); got != tt.want {
			t.Errorf("within(/r, %q) = %v, want %v", tt.p, got, tt.want)
		}
	}
}

func TestOverlayOptions(t *testing.T) {
	got, err := overlayOptions([]string{"/l/top", "/l/base"}, "/s/upper", "/s/work", 4096, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := "lowerdir=/l/top:/l/base,upperdir=/s/upper,workdir=/s/work"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	got, _ = overlayOptions([]string{"/l"}, "/u", "/w", 4096, true)
	if want := "lowerdir=/l,upperdir=/u,workdir=/w,index=off"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	var many []string
	for i := 0; i < 100; i++ {
		many = append(many, "/var/lib/podrun/images/layers/sha256/"+strings.Repeat("a", 64))
	}
	if _, err := overlayOptions(many, "/u", "/w", 4096, true); err == nil || !strings.Contains(err.Error(), "page") {
		t.Errorf("100 layers: err = %v, want the one-page limit error", err)
	}
	if _, err := overlayOptions([]string{"/a:b"}, "/u", "/w", 4096, false); err == nil {
		t.Error("path with ':' accepted")
	}
}

type tarEntry struct {
	hdr  tar.Header
	body string
}

func makeTar(t *testing.T, entries []tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := e.hdr
		h.Size = int64(len(e.body))
		if h.ModTime.IsZero() {
			h.ModTime = time.Unix(1000000000, 0)
		}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestUnpackLayer covers what works without root: files, modes, mtimes, links, and entries
// that try to escape through "..", absolute names and symlinks.
func TestUnpackLayer(t *testing.T) {
	outside := t.TempDir()
	root := t.TempDir()
	mt := time.Unix(1234567890, 0)
	data := makeTar(t, []tarEntry{
		{hdr: tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o755}},
		{hdr: tar.Header{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o750, ModTime: mt}},
		{hdr: tar.Header{Name: "etc/conf", Mode: 0o640, ModTime: mt}, body: "hello"},
		{hdr: tar.Header{Name: "etc/hard", Typeflag: tar.TypeLink, Linkname: "etc/conf"}},
		{hdr: tar.Header{Name: "bin/sh", Typeflag: tar.TypeSymlink, Linkname: "busybox"}},
		{hdr: tar.Header{Name: "escape", Typeflag: tar.TypeSymlink, Linkname: outside}},
		{hdr: tar.Header{Name: "escape/pwned", Mode: 0o644}, body: "x"},
		{hdr: tar.Header{Name: "../../dotdot", Mode: 0o644}, body: "y"},
		{hdr: tar.Header{Name: "/abs", Mode: 0o644}, body: "z"},
		{hdr: tar.Header{Name: "etc/conf", Mode: 0o600, ModTime: mt}, body: "replaced"},
		{hdr: tar.Header{Name: "tmp/", Typeflag: tar.TypeDir, Mode: 0o1777}},
		{hdr: tar.Header{Name: "fifo", Typeflag: tar.TypeFifo, Mode: 0o600}},
	})
	if err := unpackLayer(context.Background(), bytes.NewReader(data), root); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Fatalf("unpack wrote outside the layer root: %v", ents)
	}
	check := func(rel string, mode os.FileMode, body string) {
		t.Helper()
		p := filepath.Join(root, rel)
		st, err := os.Lstat(p)
		if err != nil {
			t.Error(err)
			return
		}
		if st.Mode() != mode {
			t.Errorf("%s: mode %v, want %v", rel, st.Mode(), mode)
		}
		if body != "" {
			if b, _ := os.ReadFile(p); string(b) != body {
				t.Errorf("%s: content %q, want %q", rel, b, body)
			}
		}
	}
	check("etc", os.ModeDir|0o750, "")
	check("etc/conf", 0o600, "replaced")
	check("etc/hard", 0o640, "hello") // the link kept the first file's inode
	check("bin/sh", os.ModeSymlink|0o777, "")
	check(filepath.Join(outside, "pwned"), 0o644, "x") // landed inside root, at root/<outside>/pwned
	check("dotdot", 0o644, "y")
	check("abs", 0o644, "z")
	check("tmp", os.ModeDir|os.ModeSticky|0o777, "")
	check("fifo", os.ModeNamedPipe|0o600, "")
	if got, _ := os.Readlink(filepath.Join(root, "escape")); got != outside {
		t.Errorf("symlink text changed: %q", got)
	}
	for _, rel := range []string{"etc", "etc/conf"} {
		st, err := os.Stat(filepath.Join(root, rel))
		if err == nil && !st.ModTime().Equal(mt) {
			t.Errorf("%s: mtime %v, want %v", rel, st.ModTime(), mt)
		}
	}
}

func TestUnpackLayerRejects(t *testing.T) {
	tests := []struct {
		name    string
		entries []tarEntry
	}{
		{"hardlink to missing", []tarEntry{{hdr: tar.Header{Name: "h", Typeflag: tar.TypeLink, Linkname: "../../etc/passwd"}}}},
		{"malformed whiteout", []tarEntry{{hdr: tar.Header{Name: "d/.wh..wh.x"}}}},
		{"truncated", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := makeTar(t, tt.entries)
			if tt.entries == nil {
				data = makeTar(t, []tarEntry{{hdr: tar.Header{Name: "f"}, body: strings.Repeat("x", 2000)}})[:1000]
			}
			if err := unpackLayer(context.Background(), bytes.NewReader(data), t.TempDir()); err == nil {
				t.Fatal("want error")
			}
		})
	}
}

// TestUnpackWhiteouts needs root: overlayfs whiteouts are 0:0 character devices and the opaque
// marker is a trusted.* xattr.
func TestUnpackWhiteouts(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	root := t.TempDir()
	data := makeTar(t, []tarEntry{
		{hdr: tar.Header{Name: "etc/.wh.passwd"}},
		{hdr: tar.Header{Name: "var/.wh..wh..opq"}},
		{hdr: tar.Header{Name: "var/new"}, body: "n"},
		{hdr: tar.Header{Name: "dev/null", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3, Mode: 0o666, Uid: 5, Gid: 6}},
		{hdr: tar.Header{Name: "x", Uid: 1000, Gid: 1001, Mode: 0o4755,
			PAXRecords: map[string]string{"SCHILY.xattr.user.test": "v"}}, body: "s"},
	})
	if err := unpackLayer(context.Background(), bytes.NewReader(data), root); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(root, "etc/passwd"), &st); err != nil {
		t.Fatal(err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
		t.Errorf("etc/passwd whiteout: mode %o rdev %d, want char 0:0", st.Mode, st.Rdev)
	}
	if _, err := os.Lstat(filepath.Join(root, "etc/.wh.passwd")); err == nil {
		t.Error(".wh.passwd itself was written")
	}
	buf := make([]byte, 8)
	n, err := unix.Lgetxattr(filepath.Join(root, "var"), overlayOpaqueXattr, buf)
	if err != nil || string(buf[:n]) != "y" {
		t.Errorf("var opaque xattr = %q, %v", buf[:n], err)
	}
	if err := unix.Lstat(filepath.Join(root, "dev/null"), &st); err != nil {
		t.Fatal(err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || unix.Major(st.Rdev) != 1 || unix.Minor(st.Rdev) != 3 || st.Uid != 5 || st.Gid != 6 {
		t.Errorf("dev/null: mode %o rdev %d:%d owner %d:%d", st.Mode, unix.Major(st.Rdev), unix.Minor(st.Rdev), st.Uid, st.Gid)
	}
	if err := unix.Lstat(filepath.Join(root, "x"), &st); err != nil {
		t.Fatal(err)
	}
	if st.Uid != 1000 || st.Gid != 1001 || st.Mode&0o7777 != 0o4755 {
		t.Errorf("x: owner %d:%d mode %o, want 1000:1001 4755 (setuid kept after chown)", st.Uid, st.Gid, st.Mode&0o7777)
	}
	n, err = unix.Lgetxattr(filepath.Join(root, "x"), "user.test", buf)
	if err != nil || string(buf[:n]) != "v" {
		t.Errorf("x user.test xattr = %q, %v", buf[:n], err)
	}
}

func TestParseMountinfoLine(t *testing.T) {
	tests := []struct {
		line string
		want mountEntry
		ok   bool
	}{
		{"36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue",
			mountEntry{"/mnt2", "ext3", "/dev/root", "rw,errors=continue"}, true},
		{"100 1 0:50 / /var/lib/a\\040b rw,relatime - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w",
			mountEntry{"/var/lib/a b", "overlay", "overlay", "rw,lowerdir=/l,upperdir=/u,workdir=/w"}, true},
		{"1 2 0:1 / /x rw - tmpfs", mountEntry{}, false},
		{"", mountEntry{}, false},
		{"garbage", mountEntry{}, false},
	}
	for _, tt := range tests {
		got, ok := parseMountinfoLine(tt.line)
		if ok != tt.ok || got != tt.want {
			t.Errorf("parseMountinfoLine(%q) = %+v, %v; want %+v, %v", tt.line, got, ok, tt.want, tt.ok)
		}
	}
	if got := unescapeOctal(`a\134b\011c\0`); got != "a\\b\tc\\0" {
		t.Errorf("unescapeOctal = %q", got)
	}
}

func TestIsMountPoint(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		path string
		want bool
	}{
		{"/", true},
		{"/proc", true},
		{dir, false},
		{filepath.Join(dir, "missing"), false},
	} {
		got, err := isMountPoint(tc.path)
		if err != nil || got != tc.want {
			t.Errorf("isMountPoint(%q) = %v, %v; want %v", tc.path, got, err, tc.want)
		}
		// The mount table agrees.
		if _, inTable, err := findMount(tc.path); err != nil || inTable != tc.want {
			t.Errorf("findMount(%q) = %v, %v; want %v", tc.path, inTable, err, tc.want)
		}
	}
}
