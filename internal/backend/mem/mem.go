package mem

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"bbvault/internal/backend"
)

type object struct {
	data    []byte
	modTime time.Time
}

// Backend keeps objects in a map. The zero value is not usable; call New.
type Backend struct {
	mu      sync.RWMutex
	objects map[string]object
	now     func() time.Time
}

var _ backend.Backend = (*Backend)(nil)

// New returns an empty in-memory backend.
func New() *Backend {
	return &Backend{objects: make(map[string]object), now: time.Now}
}

// Location implements backend.Backend.
func (b *Backend) Location() string { return "mem:" }

// Put implements backend.Backend.
func (b *Backend) Put(ctx context.Context, name string, r io.Reader, size int64) error {
	if err := start(ctx, "put", name); err != nil {
		return err
	}
	if size < 0 {
		return backend.Permanent(fmt.Errorf("put %s: negative size %d", name, size))
	}
	var buf bytes.Buffer
	buf.Grow(int(min(size, 64<<20)))
	if _, err := io.Copy(&buf, backend.ExactReader(r, size)); err != nil {
		return fmt.Errorf("put %s: %w", name, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put %s: %w", name, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.objects[name] = object{data: buf.Bytes(), modTime: b.now()}
	return nil
}

// Get implements backend.Backend.
func (b *Backend) Get(ctx context.Context, name string, offset, length int64) (io.ReadCloser, error) {
	if err := start(ctx, "get", name); err != nil {
		return nil, err
	}
	obj, err := b.lookup("get", name)
	if err != nil {
		return nil, err
	}
	size := int64(len(obj.data))
	if offset < 0 || offset > size {
		return nil, fmt.Errorf("get %s: offset %d, size %d: %w", name, offset, size, backend.ErrInvalidRange)
	}
	end := size
	if length > 0 && offset+length < size {
		end = offset + length
	}
	return io.NopCloser(bytes.NewReader(obj.data[offset:end])), nil
}

// Stat implements backend.Backend.
func (b *Backend) Stat(ctx context.Context, name string) (backend.ObjectInfo, error) {
	if err := start(ctx, "stat", name); err != nil {
		return backend.ObjectInfo{}, err
	}
	obj, err := b.lookup("stat", name)
	if err != nil {
		return backend.ObjectInfo{}, err
	}
	return backend.ObjectInfo{Name: name, Size: int64(len(obj.data)), ModTime: obj.modTime}, nil
}

// List implements backend.Backend. It lists a snapshot taken at the call,
// so fn may call back into the backend.
func (b *Backend) List(ctx context.Context, prefix string, fn func(backend.ObjectInfo) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("list %q: %w", prefix, err)
	}
	for _, info := range b.snapshot(prefix) {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("list %q: %w", prefix, err)
		}
		if err := fn(info); err != nil {
			return err
		}
	}
	return nil
}

// Delete implements backend.Backend.
func (b *Backend) Delete(ctx context.Context, name string) error {
	if err := start(ctx, "delete", name); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.objects, name)
	return nil
}

// Close implements backend.Backend.
func (b *Backend) Close() error { return nil }

func (b *Backend) lookup(op, name string) (object, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	obj, ok := b.objects[name]
	if !ok {
		return object{}, fmt.Errorf("%s %s: %w", op, name, backend.ErrNotFound)
	}
	return obj, nil
}

func (b *Backend) snapshot(prefix string) []backend.ObjectInfo {
	b.mu.RLock()
	defer b.mu.RUnlock()
	var infos []backend.ObjectInfo
	for name, obj := range b.objects {
		if strings.HasPrefix(name, prefix) {
			infos = append(infos, backend.ObjectInfo{Name: name, Size: int64(len(obj.data)), ModTime: obj.modTime})
		}
	}
	return infos
}

// start checks what every call checks first: the context and the name.
func start(ctx context.Context, op, name string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s %s: %w", op, name, err)
	}
	if err := backend.CheckName(name); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// Leftovers implements backend.Backend: a Put here is stored whole or not
// at all, so it never leaves anything behind.
func (b *Backend) Leftovers(ctx context.Context, prefix string, _ func(backend.Leftover) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("list leftovers %q: %w", prefix, err)
	}
	return nil
}

// RemoveLeftover implements backend.Backend; there are none to remove.
func (b *Backend) RemoveLeftover(ctx context.Context, l backend.Leftover) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("remove leftover %s: %w", l.Name, err)
	}
	return nil
}
