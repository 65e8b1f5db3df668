package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"bbvault/internal/backend"
)

// Leftovers implements backend.Backend: the temporary files a Put killed
// before its rename left in the directory of the object it was writing.
func (b *Backend) Leftovers(ctx context.Context, prefix string, fn func(backend.Leftover) error) error {
	return b.walk(ctx, "list leftovers", prefix, func(path string, d fs.DirEntry) error {
		l, ok, err := b.leftover(path, d, prefix)
		if err != nil {
			return fmt.Errorf("list leftovers %q: %w", prefix, translate(err))
		}
		if !ok {
			return nil
		}
		return fn(l)
	})
}

// leftover turns a walked path into a leftover, reporting false for
// anything but a temporary file under prefix.
func (b *Backend) leftover(path string, d fs.DirEntry, prefix string) (backend.Leftover, bool, error) {
	if !d.Type().IsRegular() || !strings.HasPrefix(d.Name(), tempPrefix) {
		return backend.Leftover{}, false, nil
	}
	rel, err := filepath.Rel(b.root, path)
	if err != nil {
		return backend.Leftover{}, false, err
	}
	name := filepath.ToSlash(rel)
	if !strings.HasPrefix(name, prefix) {
		return backend.Leftover{}, false, nil
	}
	fi, err := d.Info()
	if errors.Is(err, fs.ErrNotExist) {
		return backend.Leftover{}, false, nil // renamed or removed meanwhile
	}
	if err != nil {
		return backend.Leftover{}, false, err
	}
	return backend.Leftover{Name: name, Size: fi.Size(), ModTime: fi.ModTime(), ID: name}, true, nil
}

// RemoveLeftover implements backend.Backend. It removes only temporary
// files: an ID whose last element does not start with the temporary
// prefix is refused.
func (b *Backend) RemoveLeftover(ctx context.Context, l backend.Leftover) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("remove leftover %s: %w", l.ID, err)
	}
	if !fs.ValidPath(l.ID) || !strings.HasPrefix(l.ID[strings.LastIndex(l.ID, "/")+1:], tempPrefix) {
		return backend.Permanent(fmt.Errorf("remove leftover: %q is not a temporary file of this backend", l.ID))
	}
	err := os.Remove(filepath.Join(b.root, filepath.FromSlash(l.ID)))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove leftover %s: %w", l.ID, translate(err))
	}
	return nil
}
