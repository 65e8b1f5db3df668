package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/minio/minio-go/v7"

	"bbvault/internal/backend"
)

// Get implements backend.Backend. It sends the GET at once (minio-go's Core
// API, one request: no HEAD before it), so a missing object is ErrNotFound
// here and not at the first Read.
func (b *Backend) Get(ctx context.Context, name string, offset, length int64) (io.ReadCloser, error) {
	key, err := b.key(ctx, "get", name)
	if err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, backend.Permanent(fmt.Errorf("get %s: negative offset %d", name, offset))
	}
	var opts minio.GetObjectOptions
	if err := setRange(&opts, offset, length); err != nil {
		return nil, backend.Permanent(fmt.Errorf("get %s: %s", name, err))
	}
	body, _, _, err := minio.Core{Client: b.client}.GetObject(ctx, b.bucket, key, opts)
	if err != nil {
		err = b.translate("get", name, err)
		if errors.Is(err, backend.ErrInvalidRange) {
			return b.emptyAtEnd(ctx, name, offset)
		}
		return nil, err
	}
	return &objectReader{obj: body, b: b, name: name}, nil
}

// setRange asks for length bytes from offset; length <= 0 means to the end.
func setRange(opts *minio.GetObjectOptions, offset, length int64) error {
	switch {
	case offset == 0 && length <= 0:
		return nil // the whole object
	case length <= 0:
		return opts.SetRange(offset, 0)
	default:
		return opts.SetRange(offset, offset+length-1)
	}
}

// emptyAtEnd handles a range the server refused: a range starting exactly
// at the end of the object is valid and empty, anything further is
// ErrInvalidRange.
func (b *Backend) emptyAtEnd(ctx context.Context, name string, offset int64) (io.ReadCloser, error) {
	info, err := b.Stat(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("get: %w", err)
	}
	if offset == info.Size {
		return io.NopCloser(strings.NewReader("")), nil
	}
	return nil, fmt.Errorf("get %s: offset %d, size %d: %w", name, offset, info.Size, backend.ErrInvalidRange)
}

// objectReader translates the errors of a minio-go object stream.
type objectReader struct {
	obj  io.ReadCloser
	b    *Backend
	name string
}

func (r *objectReader) Read(p []byte) (int, error) {
	n, err := r.obj.Read(p)
	if err != nil && err != io.EOF {
		err = r.b.translate("get", r.name, err)
	}
	return n, err
}

func (r *objectReader) Close() error {
	if err := r.obj.Close(); err != nil {
		return r.b.translate("get", r.name, err)
	}
	return nil
}
