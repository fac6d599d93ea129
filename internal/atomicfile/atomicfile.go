// Package atomicfile writes files so that readers never see half of one: a temp file in the
// same directory, fsync, rename.
package atomicfile

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// WriteJSON writes v to path via a temp file, fsync and rename: readers never see a
// half-written record, and a crash leaves either the old or the new one.
func WriteJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return WriteFile(path, b, 0o644)
}

// WriteFile writes b to path with mode, as WriteJSON does.
func WriteFile(path string, b []byte, mode os.FileMode) error {
	return write(path, b, mode, false)
}

// WriteFileDurable is WriteFile that also fsyncs the directory, so that the rename itself
// survives a crash: for the records under --root that outlive a reboot.
func WriteFileDurable(path string, b []byte, mode os.FileMode) error {
	return write(path, b, mode, true)
}

// WriteFileDeferSync is WriteFileDurable in two steps, for a caller with work to start before
// the disk is done: when it returns the file is in place and complete for readers, and sync
// (which must be called once) makes its data and its name durable. A power loss before sync
// may leave the file empty or missing, as it may leave any file not yet synced.
func WriteFileDeferSync(path string, b []byte, mode os.FileMode) (sync func() error, err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return nil, err
	}
	name := tmp.Name()
	if _, err = tmp.Write(b); err == nil {
		if err = tmp.Chmod(mode); err == nil {
			err = os.Rename(name, path)
		}
	}
	if err != nil {
		tmp.Close()
		os.Remove(name)
		return nil, err
	}
	return func() error {
		defer tmp.Close()
		if err := tmp.Sync(); err != nil {
			return err
		}
		return SyncDir(dir)
	}, nil
}

// SyncDir makes the names in dir (its entries' creations, renames and removals) durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// ReplaceDurable is WriteFileDurable for a file with one writer at a time (the caller
// serialises its writes): the new content is written into a sibling ".<name>.next" that is
// kept and reused, and RENAME_EXCHANGE swaps the two names, so that a rewrite allocates and
// frees no inode. (On ext4, a file created in a directory after many deletes pays for a scan
// of the recently deleted inodes; the daemon rewrites a pod's records at every change.) The
// sibling holds the previous content afterwards. Where the filesystem cannot exchange names,
// or path does not exist yet, the sibling is renamed onto path.
func ReplaceDurable(path string, b []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	next := filepath.Join(dir, "."+filepath.Base(path)+".next")
	f, err := os.OpenFile(next, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|unix.O_NOFOLLOW, mode)
	if err != nil {
		return err
	}
	if _, err = f.Write(b); err == nil {
		if err = f.Chmod(mode); err == nil {
			err = f.Sync()
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	err = unix.Renameat2(unix.AT_FDCWD, next, unix.AT_FDCWD, path, unix.RENAME_EXCHANGE)
	if err != nil {
		// ENOENT: no path yet; EINVAL, ENOSYS, EOPNOTSUPP: no exchange here.
		if err = os.Rename(next, path); err != nil {
			return err
		}
	}
	return SyncDir(dir)
}

func write(path string, b []byte, mode os.FileMode, durable bool) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	defer os.Remove(name) // no-op after a successful rename
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(name, path); err != nil {
		return err
	}
	if durable {
		_ = SyncDir(dir)
	}
	return nil
}

// ReadJSON reads path into v; a missing file is an error wrapping os.ErrNotExist.
func ReadJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %s: %w", path, err)
	}
	return nil
}
