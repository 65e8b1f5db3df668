package repo

import (
	"context"
	"io"
	"sync"

	"golang.org/x/sync/errgroup"

	"bbvault/internal/blob"
)

// LoaderOptions tune reads.
type LoaderOptions struct {
	Prefetch int // blobs fetched ahead of the reader; default 8
}

// DefaultLoaderOptions returns the defaults.
func DefaultLoaderOptions() LoaderOptions { return LoaderOptions{Prefetch: 8} }

// StreamReader is the concatenation of a list of blobs, fetched in parallel
// ahead of the reader and verified against their IDs.
type StreamReader struct {
	cancel context.CancelFunc
	g      *errgroup.Group
	slots  chan chan fetched
	cur    []byte
	err    error
	once   sync.Once
}

type fetched struct {
	data []byte
	err  error
}

// NewStreamReader starts fetching ids in order. The caller must Close it.
func (r *Repository) NewStreamReader(ctx context.Context, ids []blob.ID) *StreamReader {
	ctx, cancel := context.WithCancel(ctx)
	n := r.Loader.Prefetch
	if n <= 0 {
		n = 8
	}
	s := &StreamReader{cancel: cancel, slots: make(chan chan fetched, n)}
	s.g, ctx = errgroup.WithContext(ctx)
	s.g.SetLimit(n + 1)
	s.g.Go(func() error { return s.produce(ctx, r, ids) })
	return s
}

// produce starts one fetch per blob, at most Prefetch at once, queuing their
// result slots in stream order.
func (s *StreamReader) produce(ctx context.Context, r *Repository, ids []blob.ID) error {
	defer close(s.slots)
	for _, id := range ids {
		slot := make(chan fetched, 1)
		select {
		case s.slots <- slot:
		case <-ctx.Done():
			return nil
		}
		s.g.Go(func() error {
			data, err := r.LoadBlob(ctx, id, nil)
			slot <- fetched{data, err}
			return nil
		})
	}
	return nil
}

// Read implements io.Reader.
func (s *StreamReader) Read(p []byte) (int, error) {
	for len(s.cur) == 0 {
		if s.err != nil {
			return 0, s.err
		}
		slot, ok := <-s.slots
		if !ok {
			s.err = io.EOF
			continue
		}
		f := <-slot
		s.cur, s.err = f.data, f.err
		if s.err != nil {
			return 0, s.err
		}
	}
	n := copy(p, s.cur)
	s.cur = s.cur[n:]
	return n, nil
}

// Close stops the fetches and waits for them.
func (s *StreamReader) Close() error {
	s.once.Do(func() {
		s.cancel()
		for range s.slots {
		}
		_ = s.g.Wait()
	})
	return nil
}
