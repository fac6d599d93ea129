package images

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/podrun/podrun/cri"
	"github.com/podrun/podrun/images/imagebuild"
)

const hostBusybox = "/bin/busybox"

func needBusybox(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(hostBusybox); err != nil {
		t.Skipf("needs %s (busybox-static)", hostBusybox)
	}
}

// archive builds an image archive file in a temp dir.
func archive(t *testing.T, ref string, layers [][]byte, cfg imagebuild.Config, format imagebuild.Format) string {
	t.Helper()
	img, err := imagebuild.Image(layers, cfg, format)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "image.tar")
	if err := imagebuild.WriteArchive(p, ref, img, format); err != nil {
		t.Fatal(err)
	}
	return p
}

func busyboxLayer(t *testing.T) []byte {
	t.Helper()
	needBusybox(t)
	entries, err := imagebuild.BusyboxEntries(hostBusybox)
	if err != nil {
		t.Fatal(err)
	}
	lt, err := imagebuild.LayerTar(entries)
	if err != nil {
		t.Fatal(err)
	}
	return lt
}

func loadFile(t *testing.T, s *Store, p string) ([]*cri.Image, error) {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return s.Load(context.Background(), f)
}

// storeFiles lists every path below the store (to prove a failed load left nothing).
func storeFiles(t *testing.T, s *Store) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(s.Root(), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		out = append(out, strings.TrimPrefix(p, s.Root()))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func TestLoadDockerArchiveAndStatus(t *testing.T) {
	lt := busyboxLayer(t)
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg := imagebuild.Config{Cmd: []string{"sh"}, Env: []string{imagebuild.DefaultPath}, User: "1000", StopSignal: "SIGQUIT", Labels: map[string]string{"a": "b"}}
	p := archive(t, "busybox", [][]byte{lt}, cfg, imagebuild.FormatDocker)
	imgs, err := loadFile(t, s, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 1 {
		t.Fatalf("loaded %d images, want 1", len(imgs))
	}
	img := imgs[0]
	if got := strings.Join(img.RepoTags, ","); got != "docker.io/library/busybox:latest" {
		t.Errorf("RepoTags = %q", got)
	}
	if len(img.RepoDigests) != 1 || !strings.HasPrefix(img.RepoDigests[0], "docker.io/library/busybox@sha256:") {
		t.Errorf("RepoDigests = %q", img.RepoDigests)
	}
	if !strings.HasPrefix(img.ID, "sha256:") || len(img.ID) != 71 || len(img.Layers) != 1 || img.Size <= 0 {
		t.Errorf("image = %+v", img)
	}
	if c := img.Config; strings.Join(c.Cmd, " ") != "sh" || c.User != "1000" || c.StopSignal != "SIGQUIT" || c.Labels["a"] != "b" || len(c.Env) != 1 {
		t.Errorf("config = %+v", c)
	}
	// The config blob is stored under its digest, which is the ID.
	b, err := os.ReadFile(filepath.Join(s.Root(), "blobs/sha256", strings.TrimPrefix(img.ID, "sha256:")))
	if err != nil || !json.Valid(b) {
		t.Errorf("config blob: %v", err)
	}
	idHex := strings.TrimPrefix(img.ID, "sha256:")
	for _, ref := range []string{"busybox", "busybox:latest", "library/busybox", "docker.io/library/busybox:latest",
		"index.docker.io/library/busybox", img.ID, idHex, idHex[:12], "sha256:" + idHex[:12], img.RepoDigests[0],
		"busybox@" + strings.SplitN(img.RepoDigests[0], "@", 2)[1]} {
		got, err := s.ImageStatus(context.Background(), ref)
		if err != nil {
			t.Errorf("ImageStatus(%q): %v", ref, err)
			continue
		}
		if got.ID != img.ID {
			t.Errorf("ImageStatus(%q).ID = %s, want %s", ref, got.ID, img.ID)
		}
	}
	for _, ref := range []string{"busybox:1.0", "alpine", "sha256:" + strings.Repeat("0", 64), strings.Repeat("0", 12)} {
		_, err := s.ImageStatus(context.Background(), ref)
		if !errors.Is(err, cri.ErrImageNotFound) || !strings.Contains(err.Error(), ref) {
			t.Errorf("ImageStatus(%q) err = %v, want ErrImageNotFound naming the ref", ref, err)
		}
	}
	if _, err := s.ImageStatus(context.Background(), "Bad:Ref"); err == nil || errors.Is(err, cri.ErrImageNotFound) {
		t.Errorf("invalid ref: err = %v, want a parse error", err)
	}
	if _, err := s.PullImage(context.Background(), "busybox"); !errors.Is(err, cri.ErrImageNotFound) || !strings.Contains(err.Error(), "not implemented") {
		t.Errorf("PullImage err = %v", err)
	}

	// Idempotent: loading again adds nothing and keeps the ID.
	before := storeFiles(t, s)
	imgs2, err := loadFile(t, s, p)
	if err != nil {
		t.Fatal(err)
	}
	if imgs2[0].ID != img.ID {
		t.Errorf("second load ID %s, want %s", imgs2[0].ID, img.ID)
	}
	if after := storeFiles(t, s); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Errorf("second load changed the store:\nbefore %v\nafter  %v", before, after)
	}

	// The index survives a reopen.
	s2, err := Open(filepath.Dir(s.Root()))
	if err != nil {
		t.Fatal(err)
	}
	list, err := s2.ListImages(context.Background())
	if err != nil || len(list) != 1 || list[0].ID != img.ID {
		t.Fatalf("ListImages after reopen = %v, %v", list, err)
	}

	// A second tag, then untag: the record stays until its last tag goes.
	p2 := archive(t, "quay.io/x/bb:2", [][]byte{lt}, cfg, imagebuild.FormatDocker)
	if _, err := loadFile(t, s2, p2); err != nil {
		t.Fatal(err)
	}
	got, _ := s2.ImageStatus(context.Background(), "busybox")
	if len(got.RepoTags) != 2 || len(got.RepoDigests) != 2 {
		t.Errorf("after re-tag: %v %v", got.RepoTags, got.RepoDigests)
	}
	if err := s2.RemoveImage(context.Background(), "busybox"); err != nil {
		t.Fatal(err)
	}
	if _, err := s2.ImageStatus(context.Background(), "busybox"); !errors.Is(err, cri.ErrImageNotFound) {
		t.Errorf("removed tag still resolves: %v", err)
	}
	if _, err := s2.ImageStatus(context.Background(), "quay.io/x/bb:2"); err != nil {
		t.Errorf("other tag lost: %v", err)
	}
	if err := s2.RemoveImage(context.Background(), img.ID); err != nil {
		t.Fatal(err)
	}
	if list, _ := s2.ListImages(context.Background()); len(list) != 0 {
		t.Errorf("images left after remove: %v", list)
	}
}

func TestLoadOCIArchive(t *testing.T) {
	lt := busyboxLayer(t)
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg := imagebuild.Config{Entrypoint: []string{"/bin/sh", "-c"}, Cmd: []string{"echo hi"}, WorkingDir: "/tmp"}
	imgs, err := loadFile(t, s, archive(t, "example.com:5000/team/bb:oci", [][]byte{lt}, cfg, imagebuild.FormatOCI))
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 1 || strings.Join(imgs[0].RepoTags, ",") != "example.com:5000/team/bb:oci" {
		t.Fatalf("loaded %+v", imgs)
	}
	if c := imgs[0].Config; c.WorkingDir != "/tmp" || strings.Join(c.Entrypoint, " ") != "/bin/sh -c" {
		t.Errorf("config = %+v", c)
	}
	// The same layer in docker format is not unpacked a second time.
	if _, err := loadFile(t, s, archive(t, "busybox", [][]byte{lt}, imagebuild.Config{}, imagebuild.FormatDocker)); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(s.layerDir())
	if len(ents) != 1 {
		t.Errorf("layer dirs = %d, want 1 (one shared layer)", len(ents))
	}
}

func TestLoadBadArchivesLeaveNothing(t *testing.T) {
	lt := busyboxLayer(t)
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(archive(t, "busybox", [][]byte{lt}, imagebuild.Config{}, imagebuild.FormatDocker))
	if err != nil {
		t.Fatal(err)
	}
	// A docker archive whose config names a diff ID the layer does not have: everything is
	// readable, the failure comes after blobs were written and the layer was unpacked.
	var bad bytes.Buffer
	tw := tar.NewWriter(&bad)
	add := func(name string, b []byte) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b))}); err != nil {
			t.Fatal(err)
		}
		tw.Write(b)
	}
	cfgJSON := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:` + strings.Repeat("1", 64) + `"]},"config":{}}`)
	add("config.json", cfgJSON)
	add("layer.tar", lt)
	add("manifest.json", []byte(`[{"Config":"config.json","RepoTags":["bad:1"],"Layers":["layer.tar"]}]`))
	tw.Close()

	before := storeFiles(t, s)
	tests := []struct {
		name string
		data []byte
	}{
		{"truncated", good[:len(good)/2]},
		{"garbage", []byte("this is not a tar archive at all, not even close ...............")},
		{"empty", nil},
		{"wrong diff ID", bad.Bytes()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			imgs, err := s.Load(context.Background(), bytes.NewReader(tt.data))
			if err == nil {
				t.Fatalf("Load succeeded: %+v", imgs)
			}
			t.Logf("error: %v", err)
			if after := storeFiles(t, s); strings.Join(after, "\n") != strings.Join(before, "\n") {
				t.Errorf("failed load left files:\nbefore %v\nafter  %v", before, after)
			}
			if list, _ := s.ListImages(context.Background()); len(list) != 0 {
				t.Errorf("failed load left images: %v", list)
			}
		})
	}
	// And the store still works afterwards.
	if _, err := s.Load(context.Background(), bytes.NewReader(good)); err != nil {
		t.Fatal(err)
	}
}

func readMountinfo(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mountinfoHas(t *testing.T, path string) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && f[4] == path {
			return true
		}
	}
	return false
}

func TestMountRootfsWithWhiteouts(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	lt := busyboxLayer(t)
	// Upper layer: deletes /bin/vi and /etc/passwd's siblings by an opaque /etc, adds a file.
	dir := t.TempDir()
	for _, f := range []string{"bin/.wh.vi", "etc/.wh..wh..opq", "etc/motd", "usr/local/bin/added"} {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), []byte("new\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := imagebuild.DirEntries(dir)
	if err != nil {
		t.Fatal(err)
	}
	up, err := imagebuild.LayerTar(entries)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	imgs, err := loadFile(t, s, archive(t, "test/whiteout:1", [][]byte{lt, up}, imagebuild.Config{Cmd: []string{"sh"}}, imagebuild.FormatDocker))
	if err != nil {
		t.Fatal(err)
	}
	base := t.TempDir()
	snap, target := filepath.Join(base, "snapshots", "c1"), filepath.Join(base, "containers", "c1", "rootfs")
	t.Cleanup(func() { s.UnmountRootfs(target, snap) })
	if err := s.MountRootfs(context.Background(), imgs[0].ID, snap, target); err != nil {
		t.Fatal(err)
	}
	if !mountinfoHas(t, target) {
		t.Fatal("target is not a mount point")
	}
	exists := func(rel string) bool {
		_, err := os.Lstat(filepath.Join(target, rel))
		return err == nil
	}
	for rel, want := range map[string]bool{
		"bin/busybox": true, "bin/sh": true, "usr/local/bin/added": true, "etc/motd": true,
		"bin/vi": false, "etc/passwd": false, "etc/group": false,
	} {
		if got := exists(rel); got != want {
			t.Errorf("%s exists = %v, want %v", rel, got, want)
		}
	}
	// Mounting again (a retry after a crash) is success and stacks nothing.
	if err := s.MountRootfs(context.Background(), imgs[0].ID, snap, target); err != nil {
		t.Errorf("second MountRootfs: %v", err)
	}
	if n := strings.Count(readMountinfo(t), " "+target+" "); n != 1 {
		t.Errorf("%s mounted %d times, want 1", target, n)
	}
	// Writes go to the container's upper dir, never into the shared layers.
	if err := os.WriteFile(filepath.Join(target, "tmp/written"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(snap, "upper/tmp/written")); err != nil {
		t.Errorf("write did not land in upper: %v", err)
	}
	if err := s.UnmountRootfs(target, snap); err != nil {
		t.Fatal(err)
	}
	if mountinfoHas(t, target) {
		t.Error("still mounted after UnmountRootfs")
	}
	for _, p := range []string{target, snap} {
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s still exists: %v", p, err)
		}
	}
	if err := s.UnmountRootfs(target, snap); err != nil {
		t.Errorf("second UnmountRootfs: %v", err)
	}
	// The shared layer is untouched.
	if _, err := os.Stat(filepath.Join(s.layerPath(imgs[0].Layers[0]), "bin/vi")); err != nil {
		t.Errorf("lower layer lost bin/vi: %v", err)
	}
}

func TestMountRootfsBusyboxImage(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	needBusybox(t)
	img, err := imagebuild.Busybox(hostBusybox, imagebuild.FormatDocker)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "bb.tar")
	if err := imagebuild.WriteArchive(p, imagebuild.BusyboxRef, img, imagebuild.FormatDocker); err != nil {
		t.Fatal(err)
	}
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := loadFile(t, s, p); err != nil {
		t.Fatal(err)
	}
	base := t.TempDir()
	snap, target := filepath.Join(base, "snap"), filepath.Join(base, "rootfs")
	t.Cleanup(func() { s.UnmountRootfs(target, snap) })
	if err := s.MountRootfs(context.Background(), "busybox", snap, target); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(target, "bin/busybox"))
	if err != nil || st.Mode().Perm() != 0o755 {
		t.Fatalf("bin/busybox: %v %v", st, err)
	}
	if st, err := os.Stat(filepath.Join(target, "home/app")); err != nil || st.Sys().(*syscall.Stat_t).Uid != 1000 {
		t.Errorf("/home/app not owned by 1000: %v", err)
	}
	if st, err := os.Stat(filepath.Join(target, "tmp")); err != nil || st.Mode()&os.ModeSticky == 0 || st.Mode().Perm() != 0o777 {
		t.Errorf("/tmp mode: %v %v", st, err)
	}
	if b, err := os.ReadFile(filepath.Join(target, "etc/group")); err != nil || !strings.Contains(string(b), "wheel:x:10:app") {
		t.Errorf("etc/group: %q %v", b, err)
	}
	if err := s.UnmountRootfs(target, snap); err != nil {
		t.Fatal(err)
	}
	if mountinfoHas(t, target) {
		t.Error("still mounted")
	}
}

// TestConcurrentLoadAndStatus runs loads and lookups at once (meaningful under -race).
func TestConcurrentLoadAndStatus(t *testing.T) {
	lt := busyboxLayer(t)
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, ref := range []string{"a:1", "b:1", "c:1"} {
		paths = append(paths, archive(t, ref, [][]byte{lt}, imagebuild.Config{Cmd: []string{ref}}, imagebuild.FormatDocker))
	}
	done := make(chan error, len(paths))
	for _, p := range paths {
		go func() {
			f, err := os.Open(p)
			if err != nil {
				done <- err
				return
			}
			defer f.Close()
			_, err = s.Load(context.Background(), f)
			done <- err
		}()
	}
	for i := 0; i < len(paths); {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			i++
		default:
			s.ImageStatus(context.Background(), "a:1")
			s.ListImages(context.Background())
		}
	}
	list, _ := s.ListImages(context.Background())
	if len(list) != 3 {
		t.Errorf("%d images, want 3", len(list))
	}
	if ents, _ := os.ReadDir(s.layerDir()); len(ents) != 1 {
		t.Errorf("%d layer dirs, want 1", len(ents))
	}
}

// TestLoadDockerSaveFormat loads an archive laid out as `docker save` writes it: uncompressed
// layers at <id>/layer.tar, short RepoTags ("busybox:1.36"), two images in one archive.
func TestLoadDockerSaveFormat(t *testing.T) {
	lt := busyboxLayer(t)
	sum := sha256.Sum256(lt)
	diffID := "sha256:" + hex.EncodeToString(sum[:])
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(name string, b []byte) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b))}); err != nil {
			t.Fatal(err)
		}
		tw.Write(b)
	}
	var manifest []map[string]any
	for i, tag := range []string{"busybox:1.36", "ikubernetes/demoapp:v1.0"} {
		cfg := []byte(`{"architecture":"amd64","os":"linux","created":"2024-01-01T00:00:00Z","config":{"Cmd":["sh"],"Env":["N=` +
			strconv.Itoa(i) + `"]},"rootfs":{"type":"layers","diff_ids":["` + diffID + `"]}}`)
		csum := sha256.Sum256(cfg)
		cname := hex.EncodeToString(csum[:]) + ".json"
		add(cname, cfg)
		manifest = append(manifest, map[string]any{"Config": cname, "RepoTags": []string{tag}, "Layers": []string{"abc/layer.tar"}})
	}
	add("abc/layer.tar", lt)
	mb, _ := json.Marshal(manifest)
	add("manifest.json", mb)
	tw.Close()

	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	imgs, err := s.Load(context.Background(), bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 2 || imgs[0].RepoTags[0] != "docker.io/library/busybox:1.36" || imgs[1].RepoTags[0] != "docker.io/ikubernetes/demoapp:v1.0" {
		t.Fatalf("loaded %+v", imgs)
	}
	if imgs[0].Layers[0] != diffID || imgs[1].Layers[0] != diffID || imgs[0].ID == imgs[1].ID {
		t.Errorf("layers/IDs: %+v", imgs)
	}
	if ents, _ := os.ReadDir(s.layerDir()); len(ents) != 1 {
		t.Errorf("%d layer dirs, want 1", len(ents))
	}
	if _, err := os.Stat(filepath.Join(s.layerPath(diffID), "bin/busybox")); err != nil {
		t.Error(err)
	}
}
