package retry

import (
	"context"
	"fmt"
	"io"

	"bbvault/internal/backend"
)

// Get implements backend.Backend. Opening is retried, and the reader
// reopens the object where it stopped when a Read fails with a transient
// error, up to Options.Resumes times.
func (b *Backend) Get(ctx context.Context, name string, offset, length int64) (io.ReadCloser, error) {
	rc, err := b.open(ctx, name, offset, length)
	if err != nil {
		return nil, err
	}
	return &resumingReader{ctx: ctx, b: b, name: name, offset: offset, length: length, rc: rc, resumes: b.opts.Resumes}, nil
}

func (b *Backend) open(ctx context.Context, name string, offset, length int64) (io.ReadCloser, error) {
	var rc io.ReadCloser
	err := b.do(ctx, "get", name, func() (err error) {
		rc, err = b.inner.Get(ctx, name, offset, length)
		return err
	})
	return rc, err
}

// resumingReader reads a range and reopens it after transient failures.
type resumingReader struct {
	ctx            context.Context
	b              *Backend
	name           string
	offset, length int64 // the range asked for
	read           int64 // bytes delivered so far
	rc             io.ReadCloser
	resumes        int
	err            error // sticky error after giving up
}

func (r *resumingReader) Read(p []byte) (int, error) {
	for r.err == nil {
		n, err := r.rc.Read(p)
		r.read += int64(n)
		if err == nil || err == io.EOF {
			return n, err
		}
		if !retryable(r.ctx, err) {
			r.err = r.b.wrap(err)
		} else if r.resumes == 0 {
			r.err = fmt.Errorf("%s: read %s: %w: giving up after %d resumed reads: %w", r.b.Location(), r.name, backend.ErrUnavailable, r.b.opts.Resumes, err)
		} else {
			r.err = r.reopen(err)
		}
		if n > 0 || r.err != nil {
			return n, r.err
		}
	}
	return 0, r.err
}

// reopen replaces the failed stream with one starting where it stopped.
func (r *resumingReader) reopen(cause error) error {
	r.resumes--
	r.b.opts.Logger.Warn("backend read failed, resuming", "location", r.b.Location(), "object", r.name,
		"offset", r.offset+r.read, "err", cause)
	_ = r.rc.Close() // the stream already failed; cause is what counts
	r.rc = nil
	length := r.length
	if length > 0 {
		length -= r.read
		if length <= 0 {
			return io.EOF // everything asked for was delivered
		}
	}
	rc, err := r.b.open(r.ctx, r.name, r.offset+r.read, length)
	if err != nil {
		return err
	}
	r.rc = rc
	return nil
}

// Close closes the current stream.
func (r *resumingReader) Close() error {
	if r.rc == nil {
		return nil
	}
	err := r.rc.Close()
	r.rc = nil
	return err
}
