package limit

import (
	"context"
	"fmt"
	"io"
	"sync"

	"golang.org/x/sync/semaphore"

	"bbvault/internal/backend"
)

// Backend limits the concurrent calls to the backend it wraps.
type Backend struct {
	inner backend.Backend
	sem   *semaphore.Weighted
}

var _ backend.Backend = (*Backend)(nil)

// New wraps inner so that at most n calls run at once; n < 1 means 1.
func New(inner backend.Backend, n int) *Backend {
	return &Backend{inner: inner, sem: semaphore.NewWeighted(int64(max(n, 1)))}
}

// acquire waits for a slot or for the context to end.
func (b *Backend) acquire(ctx context.Context, op, name string) error {
	if err := b.sem.Acquire(ctx, 1); err != nil {
		return fmt.Errorf("%s %s: waiting for a free connection: %w", op, name, err)
	}
	return nil
}

// Location implements backend.Backend.
func (b *Backend) Location() string { return b.inner.Location() }

// Close implements backend.Backend.
func (b *Backend) Close() error { return b.inner.Close() }

// Put implements backend.Backend.
func (b *Backend) Put(ctx context.Context, name string, r io.Reader, size int64) error {
	if err := b.acquire(ctx, "put", name); err != nil {
		return err
	}
	defer b.sem.Release(1)
	return b.inner.Put(ctx, name, r, size)
}

// Get implements backend.Backend. The slot is released when the returned
// reader is closed.
func (b *Backend) Get(ctx context.Context, name string, offset, length int64) (io.ReadCloser, error) {
	if err := b.acquire(ctx, "get", name); err != nil {
		return nil, err
	}
	rc, err := b.inner.Get(ctx, name, offset, length)
	if err != nil {
		b.sem.Release(1)
		return nil, err
	}
	return &slotReader{ReadCloser: rc, release: sync.OnceFunc(func() { b.sem.Release(1) })}, nil
}

// Stat implements backend.Backend.
func (b *Backend) Stat(ctx context.Context, name string) (backend.ObjectInfo, error) {
	if err := b.acquire(ctx, "stat", name); err != nil {
		return backend.ObjectInfo{}, err
	}
	defer b.sem.Release(1)
	return b.inner.Stat(ctx, name)
}

// Delete implements backend.Backend.
func (b *Backend) Delete(ctx context.Context, name string) error {
	if err := b.acquire(ctx, "delete", name); err != nil {
		return err
	}
	defer b.sem.Release(1)
	return b.inner.Delete(ctx, name)
}

// List implements backend.Backend without taking a slot (see the package
// documentation).
func (b *Backend) List(ctx context.Context, prefix string, fn func(backend.ObjectInfo) error) error {
	return b.inner.List(ctx, prefix, fn)
}

// slotReader gives its slot back on the first Close.
type slotReader struct {
	io.ReadCloser
	release func()
}

func (s *slotReader) Close() error {
	defer s.release()
	return s.ReadCloser.Close()
}

// Leftovers implements backend.Backend without taking a slot, like List.
func (b *Backend) Leftovers(ctx context.Context, prefix string, fn func(backend.Leftover) error) error {
	return b.inner.Leftovers(ctx, prefix, fn)
}

// RemoveLeftover implements backend.Backend.
func (b *Backend) RemoveLeftover(ctx context.Context, l backend.Leftover) error {
	if err := b.acquire(ctx, "remove leftover", l.Name); err != nil {
		return err
	}
	defer b.sem.Release(1)
	return b.inner.RemoveLeftover(ctx, l)
}
