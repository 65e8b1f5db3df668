package local

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"bbvault/internal/backend"
)

// writeFile durably replaces path with the contents of r: temp file in the
// same directory, write, fsync, close, rename, fsync the directory. On error
// the temp file is removed and path is untouched.
func writeFile(path string, r io.Reader) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, tempPrefix+"*")
	if err != nil {
		return translate(err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()           // may already be closed; the first error is reported
			_ = os.Remove(f.Name()) // best effort: List ignores leftovers anyway
		}
	}()
	if _, err := io.Copy(f, r); err != nil {
		return translate(err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync: %w", translate(err))
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close: %w", translate(err))
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return translate(err)
	}
	return syncDir(dir)
}

// mkdirAll creates dir and any missing parents below the root, syncing each
// parent a new directory was created in.
func (b *Backend) mkdirAll(dir string) error {
	if dir == b.root {
		return nil
	}
	fi, err := os.Stat(dir)
	if err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s is a file, not a directory", dir)
		}
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return translate(err)
	}
	parent := filepath.Dir(dir)
	if err := b.mkdirAll(parent); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return translate(err)
	}
	return syncDir(parent)
}

// syncDir makes the directory's entries (a rename, a new subdirectory)
// durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return translate(err)
	}
	if err := d.Sync(); err != nil {
		_ = d.Close() // read-only handle; the sync error is what matters
		return fmt.Errorf("sync directory: %w", translate(err))
	}
	if err := d.Close(); err != nil {
		return translate(err)
	}
	return nil
}

// translate maps operating system errors to the backend's errors, keeping
// the original (which names the path) in the chain.
func translate(err error) error {
	var sentinel error
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		sentinel = backend.ErrNotFound
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		sentinel = backend.ErrNoSpace
	case errors.Is(err, fs.ErrPermission), errors.Is(err, syscall.EROFS):
		sentinel = backend.ErrPermission
	default:
		return err
	}
	return fmt.Errorf("%w: %w", sentinel, err)
}
