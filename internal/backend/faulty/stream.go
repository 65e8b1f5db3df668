package faulty

import (
	"context"
	"io"

	"bbvault/internal/backend"
)

// Get implements backend.Backend.
func (b *Backend) Get(ctx context.Context, name string, offset, length int64) (io.ReadCloser, error) {
	fired := b.trigger(OpGet, name)
	if err := before(ctx, OpGet, name, fired); err != nil {
		return nil, err
	}
	rc, err := b.inner.Get(ctx, name, offset, length)
	if err != nil {
		return nil, err
	}
	if err := after(OpGet, name, fired); err != nil {
		_ = rc.Close() // the injected error is the result
		return nil, err
	}
	for _, f := range fired {
		switch f.Kind {
		case ShortReads:
			rc = &shortReader{ReadCloser: rc, b: b}
		case Truncate:
			rc = &cutReader{ReadCloser: rc, left: f.After}
		case StreamError:
			rc = &cutReader{ReadCloser: rc, left: f.After, err: f.err(OpGet, name)}
		}
	}
	return rc, nil
}

// shortReader returns between 1 and 16 bytes per Read.
type shortReader struct {
	io.ReadCloser
	b *Backend
}

func (s *shortReader) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1+s.b.intN(min(len(p), 16))]
	}
	return s.ReadCloser.Read(p)
}

func (b *Backend) intN(n int) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.rng.IntN(n)
}

// cutReader ends the stream after left bytes: with io.EOF when err is nil,
// else with err.
type cutReader struct {
	io.ReadCloser
	left int64
	err  error
}

func (c *cutReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		if c.err != nil {
			return 0, c.err
		}
		return 0, io.EOF
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.ReadCloser.Read(p)
	c.left -= int64(n)
	return n, err
}

// List implements backend.Backend. A StreamError fault fails the listing
// after After objects; FailAfter fails it after all objects were listed.
func (b *Backend) List(ctx context.Context, prefix string, fn func(backend.ObjectInfo) error) error {
	fired := b.trigger(OpList, prefix)
	if err := before(ctx, OpList, prefix, fired); err != nil {
		return err
	}
	limit := int64(-1)
	var cutErr error
	for _, f := range fired {
		if f.Kind == StreamError {
			limit, cutErr = f.After, f.err(OpList, prefix)
		}
	}
	err := b.inner.List(ctx, prefix, func(info backend.ObjectInfo) error {
		if limit == 0 {
			return cutErr
		}
		limit--
		return fn(info)
	})
	if err != nil {
		return err
	}
	return after(OpList, prefix, fired)
}
