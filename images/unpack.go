package images

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"
)

// Whiteouts in image layers (OCI image spec, "Whiteouts") and their overlayfs form.
const (
	whiteoutPrefix = ".wh."
	whiteoutOpaque = ".wh..wh..opq"
	// overlayOpaqueXattr marks a directory whose lower-layer contents are hidden.
	overlayOpaqueXattr = "trusted.overlay.opaque"
	paxXattrPrefix     = "SCHILY.xattr."
)

type whiteoutKind int

const (
	notWhiteout whiteoutKind = iota
	whiteoutFile
	whiteoutDir // opaque: hide everything the lower layers have in this directory
)

// classifyWhiteout says whether a tar entry's base name is a whiteout and, for a file
// whiteout, which name it deletes. A malformed whiteout (".wh.", ".wh..", ".wh..wh.x") is an
// error rather than a file literally named so: no image tool writes those.
func classifyWhiteout(base string) (whiteoutKind, string, error) {
	if base == whiteoutOpaque {
		return whiteoutDir, "", nil
	}
	if !strings.HasPrefix(base, whiteoutPrefix) {
		return notWhiteout, "", nil
	}
	n := strings.TrimPrefix(base, whiteoutPrefix)
	if n == "" || n == "." || n == ".." || strings.HasPrefix(n, whiteoutPrefix) || strings.Contains(n, "/") {
		return notWhiteout, "", fmt.Errorf("malformed whiteout %q", base)
	}
	return whiteoutFile, n, nil
}

// safeJoin returns where the tar entry name lands below root: the parent directories are
// resolved with symlinks evaluated inside root (securejoin), the last component is not
// followed (an entry replaces a symlink, it never writes through it). The result is always
// below root, and never root itself unless name is "." or "/".
func safeJoin(root, name string) (string, error) {
	n := cleanName(name)
	if n == "" {
		return root, nil
	}
	dir, base := path.Split(n)
	parent, err := securejoin.SecureJoin(root, dir)
	if err != nil {
		return "", fmt.Errorf("resolve %q: %w", name, err)
	}
	p := filepath.Join(parent, base)
	if !within(root, p) {
		return "", fmt.Errorf("entry %q escapes the layer root", name)
	}
	return p, nil
}

// within reports whether p is root or below it (lexically; both must be clean and absolute).
func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../") && !filepath.IsAbs(rel)
}

type dirTime struct {
	path  string
	mtime time.Time
}

// unpackLayer extracts one uncompressed layer tar into root (an empty directory), translating
// whiteouts to overlayfs form. It keeps owners, modes, mtimes and xattrs (those the filesystem
// and our privileges allow).
func unpackLayer(ctx context.Context, r io.Reader, root string) error {
	if err := os.Chmod(root, 0o755); err != nil {
		return err
	}
	privileged := os.Geteuid() == 0
	tr := tar.NewReader(r)
	var dirs []dirTime
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		d, err := unpackEntry(tr, hdr, root, privileged)
		if err != nil {
			return fmt.Errorf("%s: %w", hdr.Name, err)
		}
		if d != nil {
			dirs = append(dirs, *d)
		}
	}
	// Directory mtimes last: creating entries inside a directory changes its mtime. Deepest
	// first is not needed since setting a child's mtime does not touch its parent.
	for _, d := range dirs {
		ts := []unix.Timespec{unix.NsecToTimespec(d.mtime.UnixNano()), unix.NsecToTimespec(d.mtime.UnixNano())}
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, d.path, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("set mtime of %s: %w", d.path, err)
		}
	}
	return nil
}

func unpackEntry(tr *tar.Reader, hdr *tar.Header, root string, privileged bool) (*dirTime, error) {
	switch hdr.Typeflag {
	case tar.TypeXGlobalHeader, tar.TypeGNULongName, tar.TypeGNULongLink:
		return nil, nil
	}
	target, err := safeJoin(root, hdr.Name)
	if err != nil {
		return nil, err
	}
	parent, base := filepath.Split(target)
	if target != root {
		kind, hidden, err := classifyWhiteout(base)
		if err != nil {
			return nil, err
		}
		switch kind {
		case whiteoutDir:
			if err := os.MkdirAll(parent, 0o755); err != nil {
				return nil, err
			}
			if err := unix.Lsetxattr(parent, overlayOpaqueXattr, []byte("y"), 0); err != nil {
				return nil, fmt.Errorf("mark %s opaque: %w", parent, err)
			}
			return nil, nil
		case whiteoutFile:
			if err := os.MkdirAll(parent, 0o755); err != nil {
				return nil, err
			}
			wh := filepath.Join(parent, hidden)
			if err := removeExisting(wh); err != nil {
				return nil, err
			}
			// overlayfs reads a 0:0 character device as "deleted in this layer".
			if err := unix.Mknod(wh, unix.S_IFCHR, 0); err != nil {
				return nil, fmt.Errorf("whiteout %s: %w", wh, err)
			}
			return nil, nil
		}
		if err := os.MkdirAll(parent, 0o755); err != nil {
			return nil, err
		}
	}

	fi := hdr.FileInfo()
	switch hdr.Typeflag {
	case tar.TypeDir:
		if st, err := os.Lstat(target); err == nil && !st.IsDir() {
			if err := os.Remove(target); err != nil {
				return nil, err
			}
		}
		if err := os.Mkdir(target, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
	case tar.TypeReg, tar.TypeRegA:
		if err := removeExisting(target); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY|unix.O_NOFOLLOW, 0o600)
		if err != nil {
			return nil, err
		}
		_, err = io.Copy(f, tr)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, err
		}
	case tar.TypeSymlink:
		if err := removeExisting(target); err != nil {
			return nil, err
		}
		// The link text is stored as is: it is resolved later inside the container's root,
		// never by us.
		if err := os.Symlink(hdr.Linkname, target); err != nil {
			return nil, err
		}
	case tar.TypeLink:
		src, err := safeJoin(root, hdr.Linkname)
		if err != nil {
			return nil, fmt.Errorf("hardlink target: %w", err)
		}
		st, err := os.Lstat(src)
		if err != nil {
			return nil, fmt.Errorf("hardlink target %q: %w", hdr.Linkname, err)
		}
		if st.IsDir() {
			return nil, fmt.Errorf("hardlink target %q is a directory", hdr.Linkname)
		}
		if err := removeExisting(target); err != nil {
			return nil, err
		}
		// A hard link shares the target's inode and metadata: nothing more to set.
		return nil, os.Link(src, target)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		if err := removeExisting(target); err != nil {
			return nil, err
		}
		mode := uint32(unix.S_IFIFO)
		switch hdr.Typeflag {
		case tar.TypeChar:
			mode = unix.S_IFCHR
		case tar.TypeBlock:
			mode = unix.S_IFBLK
		}
		dev := unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
		if err := unix.Mknod(target, mode|0o600, int(dev)); err != nil {
			return nil, err
		}
	default:
		slog.Debug("layer unpack: skipping unsupported entry", "name", hdr.Name, "type", hdr.Typeflag)
		return nil, nil
	}

	if err := os.Lchown(target, hdr.Uid, hdr.Gid); err != nil && (privileged || !errors.Is(err, fs.ErrPermission)) {
		return nil, fmt.Errorf("chown: %w", err)
	}
	// chmod after chown: chown clears set-uid/set-gid bits.
	if hdr.Typeflag != tar.TypeSymlink {
		if err := os.Chmod(target, fi.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)); err != nil {
			return nil, fmt.Errorf("chmod: %w", err)
		}
	}
	for k, v := range hdr.PAXRecords {
		if !strings.HasPrefix(k, paxXattrPrefix) {
			continue
		}
		attr := strings.TrimPrefix(k, paxXattrPrefix)
		if err := unix.Lsetxattr(target, attr, []byte(v), 0); err != nil {
			// Not every filesystem or privilege level allows every namespace (trusted.*,
			// security.*): the file is still usable without it.
			slog.Debug("layer unpack: xattr not set", "path", target, "xattr", attr, "err", err)
		}
	}
	if hdr.Typeflag == tar.TypeDir {
		return &dirTime{path: target, mtime: hdr.ModTime}, nil
	}
	ts := []unix.Timespec{unix.NsecToTimespec(hdr.ModTime.UnixNano()), unix.NsecToTimespec(hdr.ModTime.UnixNano())}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, target, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return nil, fmt.Errorf("set mtime: %w", err)
	}
	return nil, nil
}

// removeExisting removes what a later entry of the same layer replaces.
func removeExisting(p string) error {
	st, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if st.IsDir() {
		return removeAll(p)
	}
	return os.Remove(p)
}

// removeAll is os.RemoveAll that also copes with directories a layer made read-only
// (which stop an unprivileged user from deleting their entries).
func removeAll(p string) error {
	err := os.RemoveAll(p)
	if err == nil || os.Geteuid() == 0 {
		return err
	}
	_ = filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(q, 0o700)
		}
		return nil
	})
	return os.RemoveAll(p)
}

func syncFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}
