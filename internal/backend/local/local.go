package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"bbvault/internal/backend"
)

// tempPrefix starts the names of files being written. List skips them and
// object names may not use it.
const tempPrefix = ".tmp-"

// Backend stores objects under a root directory.
type Backend struct {
	root string
}

var _ backend.Backend = (*Backend)(nil)

// Create makes dir (and its parents) if missing and opens it.
func Create(dir string) (*Backend, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("repository directory %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("create repository directory: %w", translate(err))
	}
	return Open(abs)
}

// Open opens an existing directory. A missing directory is an error that
// says so; bbvault init creates it.
func Open(dir string) (*Backend, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("repository directory %s: %w", dir, err)
	}
	fi, err := os.Stat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("repository directory %s does not exist (\"bbvault init\" creates it): %w", abs, backend.ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("open repository directory: %w", translate(err))
	case !fi.IsDir():
		return nil, fmt.Errorf("repository location %s is not a directory", abs)
	}
	return &Backend{root: abs}, nil
}

// Location implements backend.Backend.
func (b *Backend) Location() string { return "local:" + b.root }

// Close implements backend.Backend.
func (b *Backend) Close() error { return nil }

// Put implements backend.Backend.
func (b *Backend) Put(ctx context.Context, name string, r io.Reader, size int64) error {
	path, err := b.path(ctx, "put", name)
	if err != nil {
		return err
	}
	if size < 0 {
		return backend.Permanent(fmt.Errorf("put %s: negative size %d", name, size))
	}
	if err := b.mkdirAll(filepath.Dir(path)); err != nil {
		return fmt.Errorf("put %s: %w", name, err)
	}
	if err := writeFile(path, backend.ExactReader(ctxReader{ctx, r}, size)); err != nil {
		return fmt.Errorf("put %s: %w", name, err)
	}
	return nil
}

// Get implements backend.Backend. The reader is a section of the open file.
func (b *Backend) Get(ctx context.Context, name string, offset, length int64) (io.ReadCloser, error) {
	path, err := b.path(ctx, "get", name)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", name, translate(err))
	}
	rc, err := section(ctx, f, offset, length)
	if err != nil {
		_ = f.Close() // read-only file; the section error is what matters
		return nil, fmt.Errorf("get %s: %w", name, err)
	}
	return rc, nil
}

// Stat implements backend.Backend.
func (b *Backend) Stat(ctx context.Context, name string) (backend.ObjectInfo, error) {
	path, err := b.path(ctx, "stat", name)
	if err != nil {
		return backend.ObjectInfo{}, err
	}
	fi, err := os.Stat(path)
	if err == nil && !fi.Mode().IsRegular() {
		err = fs.ErrNotExist
	}
	if err != nil {
		return backend.ObjectInfo{}, fmt.Errorf("stat %s: %w", name, translate(err))
	}
	return backend.ObjectInfo{Name: name, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

// Delete implements backend.Backend.
func (b *Backend) Delete(ctx context.Context, name string) error {
	path, err := b.path(ctx, "delete", name)
	if err != nil {
		return err
	}
	err = os.Remove(path)
	if err != nil && !errors.Is(translate(err), backend.ErrNotFound) {
		return fmt.Errorf("delete %s: %w", name, translate(err))
	}
	return nil
}

// path checks the context and the name and returns the object's file path.
func (b *Backend) path(ctx context.Context, op, name string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("%s %s: %w", op, name, err)
	}
	if err := backend.CheckName(name); err != nil {
		return "", fmt.Errorf("%s: %w", op, err)
	}
	for elem := range strings.SplitSeq(name, "/") {
		if strings.HasPrefix(elem, tempPrefix) {
			return "", backend.Permanent(fmt.Errorf("%s: invalid object name %q: elements may not start with %q", op, name, tempPrefix))
		}
	}
	return filepath.Join(b.root, filepath.FromSlash(name)), nil
}

// section returns a reader for length bytes of f from offset; it closes f.
func section(ctx context.Context, f *os.File, offset, length int64) (io.ReadCloser, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, translate(err)
	}
	if !fi.Mode().IsRegular() {
		return nil, backend.ErrNotFound
	}
	size := fi.Size()
	if offset < 0 || offset > size {
		return nil, fmt.Errorf("offset %d, size %d: %w", offset, size, backend.ErrInvalidRange)
	}
	if length <= 0 || offset+length > size {
		length = size - offset
	}
	return &fileSection{ctx: ctx, r: io.NewSectionReader(f, offset, length), f: f}, nil
}

// fileSection reads part of an open file and closes the file.
type fileSection struct {
	ctx context.Context
	r   *io.SectionReader
	f   *os.File
}

func (s *fileSection) Read(p []byte) (int, error) {
	if err := s.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		err = translate(err)
	}
	return n, err
}

func (s *fileSection) Close() error { return s.f.Close() }

// ctxReader stops a copy once its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
