package retry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"time"

	"bbvault/internal/backend"
	"bbvault/internal/wait"
)

// Options bound the retries. Zero fields take the defaults.
type Options struct {
	Attempts     int           // tries per call, the first included; default 6
	InitialDelay time.Duration // wait before the second try, doubled after each; default 1s
	MaxDelay     time.Duration // longest single wait; default 20s
	MaxElapsed   time.Duration // no new try once this long has passed since the first; default 1m
	Resumes      int           // times one Get stream may be reopened; default 6
	Logger       *slog.Logger  // each retry is logged at warn; nil discards
}

func (o Options) withDefaults() Options {
	if o.Attempts <= 0 {
		o.Attempts = 6
	}
	if o.InitialDelay <= 0 {
		o.InitialDelay = time.Second
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = 20 * time.Second
	}
	if o.MaxElapsed <= 0 {
		o.MaxElapsed = time.Minute
	}
	if o.Resumes <= 0 {
		o.Resumes = 6
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Backend retries the calls of the backend it wraps.
type Backend struct {
	inner backend.Backend
	opts  Options
}

var _ backend.Backend = (*Backend)(nil)

// New wraps inner.
func New(inner backend.Backend, opts Options) *Backend {
	return &Backend{inner: inner, opts: opts.withDefaults()}
}

// Location implements backend.Backend.
func (b *Backend) Location() string { return b.inner.Location() }

// Close implements backend.Backend.
func (b *Backend) Close() error { return b.inner.Close() }

// retryable reports whether trying err's call again could succeed.
func retryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil || errors.Is(err, context.Canceled) || backend.IsPermanent(err) {
		return false
	}
	for _, final := range []error{backend.ErrNotFound, backend.ErrPermission, backend.ErrNoSpace, backend.ErrInvalidRange, backend.ErrSize} {
		if errors.Is(err, final) {
			return false
		}
	}
	return true
}

// do runs call until it succeeds, fails for good or runs out of tries.
func (b *Backend) do(ctx context.Context, op, name string, call func() error) error {
	start := time.Now()
	for attempt := 1; ; attempt++ {
		err := call()
		if err == nil {
			return nil
		}
		if !retryable(ctx, err) {
			return b.wrap(err)
		}
		delay := b.delay(attempt)
		if attempt >= b.opts.Attempts || time.Since(start)+delay > b.opts.MaxElapsed {
			return fmt.Errorf("%s: giving up after %d attempts: %w", b.Location(), attempt, err)
		}
		b.opts.Logger.Warn("backend call failed, retrying", "location", b.Location(), "op", op,
			"object", name, "attempt", attempt, "delay", delay, "err", err)
		if werr := wait.Sleep(ctx, delay); werr != nil {
			return fmt.Errorf("%s: %s %s: %w (while waiting to retry after: %v)", b.Location(), op, name, werr, err)
		}
	}
}

// wrap puts the location in front of an error.
func (b *Backend) wrap(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", b.Location(), err)
}

// delay returns the wait after the given attempt: exponential, capped,
// with the upper half randomised so that parallel callers spread out.
func (b *Backend) delay(attempt int) time.Duration {
	d := b.opts.InitialDelay
	for i := 1; i < attempt && d < b.opts.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, b.opts.MaxDelay)
	return d/2 + rand.N(d/2+1)
}

// Put implements backend.Backend. Only a reader that is an io.Seeker is
// retried; it is rewound to its starting position before each new try.
func (b *Backend) Put(ctx context.Context, name string, r io.Reader, size int64) error {
	seeker, ok := r.(io.Seeker)
	if !ok {
		return b.wrap(b.inner.Put(ctx, name, r, size))
	}
	start, err := seeker.Seek(0, io.SeekCurrent)
	if err != nil {
		return b.wrap(b.inner.Put(ctx, name, r, size))
	}
	tries := 0
	return b.do(ctx, "put", name, func() error {
		if tries++; tries > 1 {
			if _, err := seeker.Seek(start, io.SeekStart); err != nil {
				return backend.Permanent(fmt.Errorf("put %s: rewind the reader: %w", name, err))
			}
		}
		return b.inner.Put(ctx, name, r, size)
	})
}

// Stat implements backend.Backend.
func (b *Backend) Stat(ctx context.Context, name string) (backend.ObjectInfo, error) {
	var info backend.ObjectInfo
	err := b.do(ctx, "stat", name, func() (err error) {
		info, err = b.inner.Stat(ctx, name)
		return err
	})
	return info, err
}

// Delete implements backend.Backend.
func (b *Backend) Delete(ctx context.Context, name string) error {
	return b.do(ctx, "delete", name, func() error { return b.inner.Delete(ctx, name) })
}

// List implements backend.Backend. After a failed try it lists again and
// skips the names fn has already seen, which it keeps in memory.
func (b *Backend) List(ctx context.Context, prefix string, fn func(backend.ObjectInfo) error) error {
	seen := make(map[string]struct{})
	var fnErr error
	err := b.do(ctx, "list", fmt.Sprintf("%q", prefix), func() error {
		return b.inner.List(ctx, prefix, func(info backend.ObjectInfo) error {
			if _, dup := seen[info.Name]; dup {
				return nil
			}
			seen[info.Name] = struct{}{}
			if fnErr = fn(info); fnErr != nil {
				return backend.Permanent(fnErr) // the caller's error: never retried
			}
			return nil
		})
	})
	if fnErr != nil {
		return fnErr
	}
	return err
}

// Leftovers implements backend.Backend, retried like List.
func (b *Backend) Leftovers(ctx context.Context, prefix string, fn func(backend.Leftover) error) error {
	seen := make(map[string]struct{})
	var fnErr error
	err := b.do(ctx, "list leftovers", fmt.Sprintf("%q", prefix), func() error {
		return b.inner.Leftovers(ctx, prefix, func(l backend.Leftover) error {
			if _, dup := seen[l.ID]; dup {
				return nil
			}
			seen[l.ID] = struct{}{}
			if fnErr = fn(l); fnErr != nil {
				return backend.Permanent(fnErr)
			}
			return nil
		})
	})
	if fnErr != nil {
		return fnErr
	}
	return err
}

// RemoveLeftover implements backend.Backend.
func (b *Backend) RemoveLeftover(ctx context.Context, l backend.Leftover) error {
	return b.do(ctx, "remove leftover", l.Name, func() error { return b.inner.RemoveLeftover(ctx, l) })
}
