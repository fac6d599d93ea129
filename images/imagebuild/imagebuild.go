// Package imagebuild writes small container images without a registry or docker: a busybox
// image from the host's busybox-static, the demoapp image, and images from plain directories.
// It backs `go run ./hack/mkimage` and the tests that need real images.
//
// Output is deterministic: every file gets FixedTime as mtime and entries are sorted, so the
// same inputs always give the same image ID.
package imagebuild

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// FixedTime is the mtime of every file and the image creation time.
var FixedTime = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// DefaultPath is the PATH of the images we build (the one docker's official images use).
const DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Default references.
const (
	BusyboxRef = "docker.io/library/busybox:latest"
	DemoappRef = "docker.io/ikubernetes/demoapp:v1.0"
)

// Format is the archive format written by WriteArchive.
type Format string

const (
	FormatDocker Format = "docker" // `docker save` layout: manifest.json with RepoTags
	FormatOCI    Format = "oci"    // OCI image layout (oci-layout, index.json, blobs/) as a tar
)

// Entry is one file of a layer.
type Entry struct {
	Name     string // relative path, "bin/busybox"
	Type     byte   // tar.TypeReg, TypeDir, TypeSymlink, TypeLink, TypeChar, TypeFifo...
	Mode     int64  // permission bits (and setuid/setgid/sticky as 04000/02000/01000)
	UID, GID int
	Body     []byte
	Linkname string
	Devmajor int64
	Devminor int64
}

// LayerTar returns an uncompressed layer tar of entries, sorted by name, with FixedTime.
func LayerTar(entries []Entry) ([]byte, error) {
	sorted := append([]Entry(nil), entries...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range sorted {
		hdr := &tar.Header{
			Name:     e.Name,
			Typeflag: e.Type,
			Mode:     e.Mode,
			Uid:      e.UID,
			Gid:      e.GID,
			Linkname: e.Linkname,
			Devmajor: e.Devmajor,
			Devminor: e.Devminor,
			ModTime:  FixedTime,
			Format:   tar.FormatPAX,
		}
		if e.Type == tar.TypeDir && !strings.HasSuffix(hdr.Name, "/") {
			hdr.Name += "/"
		}
		if e.Type == tar.TypeReg {
			hdr.Size = int64(len(e.Body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("layer entry %s: %w", e.Name, err)
		}
		if e.Type == tar.TypeReg {
			if _, err := tw.Write(e.Body); err != nil {
				return nil, fmt.Errorf("layer entry %s: %w", e.Name, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// BusyboxEntries returns the busybox rootfs: the static busybox binary at /bin/busybox, one
// symlink per applet in /bin, passwd/group with an unprivileged "app" user (1000) and a
// "wheel" group (10) listing app (for supplementary group tests), /tmp 1777, /root, /home/app.
func BusyboxEntries(busyboxPath string) ([]Entry, error) {
	bin, err := os.ReadFile(busyboxPath)
	if err != nil {
		return nil, fmt.Errorf("busybox rootfs: %w", err)
	}
	out, err := exec.Command(busyboxPath, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("busybox rootfs: %s --list: %w", busyboxPath, err)
	}
	dir := func(n string, mode int64, uid int) Entry {
		return Entry{Name: n, Type: tar.TypeDir, Mode: mode, UID: uid, GID: uid}
	}
	file := func(n string, mode int64, body string) Entry {
		return Entry{Name: n, Type: tar.TypeReg, Mode: mode, Body: []byte(body)}
	}
	entries := []Entry{
		dir("bin", 0o755, 0), dir("dev", 0o755, 0), dir("etc", 0o755, 0), dir("home", 0o755, 0),
		dir("home/app", 0o755, 1000), dir("proc", 0o555, 0), dir("root", 0o700, 0),
		dir("sys", 0o555, 0), dir("tmp", 0o1777, 0), dir("usr", 0o755, 0),
		dir("usr/local", 0o755, 0), dir("usr/local/bin", 0o755, 0), dir("var", 0o755, 0),
		{Name: "bin/busybox", Type: tar.TypeReg, Mode: 0o755, Body: bin},
		file("etc/passwd", 0o644, "root:x:0:0:root:/root:/bin/sh\n"+
			"daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"+
			"app:x:1000:1000:app:/home/app:/bin/sh\n"+
			"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"),
		file("etc/group", 0o644, "root:x:0:\ndaemon:x:1:\nwheel:x:10:app\napp:x:1000:\nnogroup:x:65534:\n"),
	}
	taken := map[string]bool{}
	for _, e := range entries {
		taken[e.Name] = true
	}
	for _, applet := range strings.Fields(string(out)) {
		n := "bin/" + applet
		if strings.Contains(applet, "/") || taken[n] {
			continue
		}
		taken[n] = true
		entries = append(entries, Entry{Name: n, Type: tar.TypeSymlink, Mode: 0o777, Linkname: "busybox"})
	}
	return entries, nil
}

// DirEntries reads a directory tree into layer entries (owners and modes from the files,
// mtimes fixed). A file named ".wh.<name>" or ".wh..wh..opq" is kept as is: in a layer tar
// that is the whiteout of <name> (or the opaque marker of its directory).
func DirEntries(root string) ([]Entry, error) {
	var entries []Entry
	inodes := map[[2]uint64]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil || rel == "." {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		e := Entry{Name: filepath.ToSlash(rel), Mode: int64(fi.Mode().Perm())}
		if fi.Mode()&fs.ModeSetuid != 0 {
			e.Mode |= 0o4000
		}
		if fi.Mode()&fs.ModeSetgid != 0 {
			e.Mode |= 0o2000
		}
		if fi.Mode()&fs.ModeSticky != 0 {
			e.Mode |= 0o1000
		}
		st, _ := fi.Sys().(*syscall.Stat_t)
		if st != nil {
			e.UID, e.GID = int(st.Uid), int(st.Gid)
		}
		switch {
		case fi.IsDir():
			e.Type = tar.TypeDir
		case fi.Mode()&fs.ModeSymlink != 0:
			e.Type = tar.TypeSymlink
			if e.Linkname, err = os.Readlink(p); err != nil {
				return err
			}
		case fi.Mode().IsRegular():
			if st != nil && st.Nlink > 1 {
				key := [2]uint64{st.Dev, st.Ino}
				if first, ok := inodes[key]; ok {
					e.Type, e.Linkname = tar.TypeLink, first
					break
				}
				inodes[key] = e.Name
			}
			e.Type = tar.TypeReg
			if e.Body, err = os.ReadFile(p); err != nil {
				return err
			}
		case fi.Mode()&fs.ModeNamedPipe != 0:
			e.Type = tar.TypeFifo
		case fi.Mode()&fs.ModeDevice != 0 && st != nil:
			e.Type = tar.TypeBlock
			if fi.Mode()&fs.ModeCharDevice != 0 {
				e.Type = tar.TypeChar
			}
			e.Devmajor, e.Devminor = int64(major(st.Rdev)), int64(minor(st.Rdev))
		default:
			return fmt.Errorf("%s: unsupported file type %v", p, fi.Mode().Type())
		}
		entries = append(entries, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read layer dir %s: %w", root, err)
	}
	return entries, nil
}

func major(dev uint64) uint64 { return (dev>>8)&0xfff | (dev>>32)&^0xfff }
func minor(dev uint64) uint64 { return dev&0xff | (dev>>12)&^0xff }

// Config is the runtime part of the image config.
type Config struct {
	Entrypoint   []string
	Cmd          []string
	Env          []string
	WorkingDir   string
	User         string
	StopSignal   string
	ExposedPorts []string // "80/tcp"
	Labels       map[string]string
}

// Image assembles an image from uncompressed layer tars (lowest first); layers are stored
// gzip-compressed. format selects docker or OCI media types.
func Image(layerTars [][]byte, cfg Config, format Format) (v1.Image, error) {
	layerType, manifestType, configType := types.DockerLayer, types.DockerManifestSchema2, types.DockerConfigJSON
	if format == FormatOCI {
		layerType, manifestType, configType = types.OCILayer, types.OCIManifestSchema1, types.OCIConfigJSON
	}
	img := mutate.MediaType(empty.Image, manifestType)
	img = mutate.ConfigMediaType(img, configType)
	for i, lt := range layerTars {
		b := lt
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(b)), nil
		}, tarball.WithMediaType(layerType))
		if err != nil {
			return nil, fmt.Errorf("layer %d: %w", i, err)
		}
		img, err = mutate.Append(img, mutate.Addendum{Layer: l, History: v1.History{
			Created: v1.Time{Time: FixedTime}, CreatedBy: "podrun imagebuild",
		}})
		if err != nil {
			return nil, fmt.Errorf("layer %d: %w", i, err)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Architecture = goruntime.GOARCH
	cf.OS = "linux"
	cf.Created = v1.Time{Time: FixedTime}
	cf.Config = v1.Config{
		Entrypoint: cfg.Entrypoint,
		Cmd:        cfg.Cmd,
		Env:        cfg.Env,
		WorkingDir: cfg.WorkingDir,
		User:       cfg.User,
		StopSignal: cfg.StopSignal,
		Labels:     cfg.Labels,
	}
	if len(cfg.ExposedPorts) > 0 {
		cf.Config.ExposedPorts = map[string]struct{}{}
		for _, p := range cfg.ExposedPorts {
			cf.Config.ExposedPorts[p] = struct{}{}
		}
	}
	return mutate.ConfigFile(img, cf)
}

// Busybox builds the busybox image.
func Busybox(busyboxPath string, format Format) (v1.Image, error) {
	entries, err := BusyboxEntries(busyboxPath)
	if err != nil {
		return nil, err
	}
	lt, err := LayerTar(entries)
	if err != nil {
		return nil, err
	}
	return Image([][]byte{lt}, Config{Cmd: []string{"sh"}, Env: []string{DefaultPath}}, format)
}

// Demoapp builds the demoapp image: the busybox rootfs plus a layer with the static demoapp
// binary at /usr/local/bin/demoapp.
func Demoapp(busyboxPath, demoappBinary string, format Format) (v1.Image, error) {
	entries, err := BusyboxEntries(busyboxPath)
	if err != nil {
		return nil, err
	}
	base, err := LayerTar(entries)
	if err != nil {
		return nil, err
	}
	bin, err := os.ReadFile(demoappBinary)
	if err != nil {
		return nil, fmt.Errorf("demoapp image: %w", err)
	}
	top, err := LayerTar([]Entry{
		{Name: "usr", Type: tar.TypeDir, Mode: 0o755},
		{Name: "usr/local", Type: tar.TypeDir, Mode: 0o755},
		{Name: "usr/local/bin", Type: tar.TypeDir, Mode: 0o755},
		{Name: "usr/local/bin/demoapp", Type: tar.TypeReg, Mode: 0o755, Body: bin},
	})
	if err != nil {
		return nil, err
	}
	return Image([][]byte{base, top}, Config{
		Entrypoint:   []string{"/usr/local/bin/demoapp"},
		Env:          []string{DefaultPath, "PORT=80"},
		ExposedPorts: []string{"80/tcp"},
		WorkingDir:   "/",
		StopSignal:   "SIGTERM",
	}, format)
}

// BuildDemoapp compiles the demoapp command in srcDir (./hack/demoapp) into outDir as a
// static binary (CGO_ENABLED=0) and returns its path.
func BuildDemoapp(srcDir, outDir string) (string, error) {
	out := filepath.Join(outDir, "demoapp")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, ".")
	cmd.Dir = srcDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build demoapp in %s: %w: %s", srcDir, err, b)
	}
	return out, nil
}

// WriteArchive writes img tagged ref to path, atomically (temp file then rename).
func WriteArchive(path, ref string, img v1.Image, format Format) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".mkimage-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	switch format {
	case FormatDocker, "":
		tag, err := name.NewTag(ref, name.WeakValidation)
		if err != nil {
			return fmt.Errorf("reference %q: %w", ref, err)
		}
		if err := tarball.Write(tag, img, tmp); err != nil {
			return fmt.Errorf("write docker archive: %w", err)
		}
	case FormatOCI:
		if err := writeOCIArchive(tmp, ref, img); err != nil {
			return fmt.Errorf("write OCI archive: %w", err)
		}
	default:
		return fmt.Errorf("unknown format %q (want docker or oci)", format)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// writeOCIArchive writes an image layout as containerd exports it: ref.name holds the tag only
// and io.containerd.image.name the full reference.
func writeOCIArchive(w io.Writer, ref string, img v1.Image) error {
	dir, err := os.MkdirTemp("", "mkimage-oci-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	tag := "latest"
	if t, err := name.NewTag(ref, name.WeakValidation); err == nil {
		tag = t.TagStr()
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": tag,
		"io.containerd.image.name":          ref,
	})); err != nil {
		return err
	}
	return tarDir(w, dir)
}

// tarDir writes the regular files and directories below dir, sorted, with FixedTime.
func tarDir(w io.Writer, dir string) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		hdr := &tar.Header{Name: filepath.ToSlash(rel), ModTime: FixedTime, Mode: 0o644, Typeflag: tar.TypeReg}
		if d.IsDir() {
			hdr.Name += "/"
			hdr.Typeflag, hdr.Mode = tar.TypeDir, 0o755
			return tw.WriteHeader(hdr)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		hdr.Size = int64(len(b))
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err = tw.Write(b)
		return err
	})
	if err != nil {
		return err
	}
	return tw.Close()
}
