package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"bbvault/internal/backend"
)

// List implements backend.Backend. It walks only the deepest directory the
// prefix names in full and skips temporary files.
func (b *Backend) List(ctx context.Context, prefix string, fn func(backend.ObjectInfo) error) error {
	return b.walk(ctx, "list", prefix, func(path string, d fs.DirEntry) error {
		info, ok, err := b.entry(path, d, prefix)
		if err != nil {
			return fmt.Errorf("list %q: %w", prefix, translate(err))
		}
		if !ok {
			return nil
		}
		return fn(info)
	})
}

// walkStop carries an error of the caller's callback through WalkDir, so
// it is returned as it is.
type walkStop struct{ err error }

func (w walkStop) Error() string { return w.err.Error() }

// walk calls visit for every entry below the deepest directory the prefix
// names in full, skipping directories that cannot hold names with prefix.
// An error from visit stops the walk and is returned as it is.
func (b *Backend) walk(ctx context.Context, op, prefix string, visit func(path string, d fs.DirEntry) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s %q: %w", op, prefix, err)
	}
	dir := prefix[:strings.LastIndex(prefix, "/")+1]
	start := filepath.Join(b.root, filepath.FromSlash(dir))
	err := filepath.WalkDir(start, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == start && errors.Is(translate(err), backend.ErrNotFound) {
				return filepath.SkipDir // nothing stored under this prefix
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() && path != start && !b.dirMatches(path, prefix) {
			return filepath.SkipDir
		}
		if err := visit(path, d); err != nil {
			return walkStop{err}
		}
		return nil
	})
	var stop walkStop
	switch {
	case errors.As(err, &stop):
		return stop.err
	case err != nil:
		return fmt.Errorf("%s %q: %w", op, prefix, translate(err))
	}
	return nil
}

// dirMatches reports whether directory path can hold names with prefix.
func (b *Backend) dirMatches(path, prefix string) bool {
	rel, err := filepath.Rel(b.root, path)
	if err != nil {
		return true
	}
	name := filepath.ToSlash(rel) + "/"
	return strings.HasPrefix(name, prefix) || strings.HasPrefix(prefix, name)
}

// entry turns a walked path into an object, reporting false for
// directories, temporary files and names outside the prefix.
func (b *Backend) entry(path string, d fs.DirEntry, prefix string) (backend.ObjectInfo, bool, error) {
	if !d.Type().IsRegular() || strings.HasPrefix(d.Name(), tempPrefix) {
		return backend.ObjectInfo{}, false, nil
	}
	rel, err := filepath.Rel(b.root, path)
	if err != nil {
		return backend.ObjectInfo{}, false, err
	}
	name := filepath.ToSlash(rel)
	if !strings.HasPrefix(name, prefix) {
		return backend.ObjectInfo{}, false, nil
	}
	fi, err := d.Info()
	if errors.Is(err, fs.ErrNotExist) {
		return backend.ObjectInfo{}, false, nil // deleted while listing
	}
	if err != nil {
		return backend.ObjectInfo{}, false, err
	}
	return backend.ObjectInfo{Name: name, Size: fi.Size(), ModTime: fi.ModTime()}, true, nil
}
