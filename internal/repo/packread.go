package repo

import (
	"context"
	"fmt"
	"io"

	"bbvault/internal/blob"
	"bbvault/internal/index"
)

// These let a restorer plan reads pack by pack: one ranged request for many
// blobs instead of one request per blob.

// Locate returns where copies of a blob are stored; the first is preferred
// (copies recorded bad come last).
func (r *Repository) Locate(ctx context.Context, id blob.ID) ([]index.Location, error) {
	locs, err := r.idx.Lookup(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("look up blob %s: %w", id.Short(), err)
	}
	if len(locs) == 0 {
		return nil, fmt.Errorf("blob %s: %w", id, ErrBlobNotFound)
	}
	return r.preferIntact(locs), nil
}

// OpenPackRange streams n bytes of a pack from offset off. The caller closes
// it. A pack that is missing, or that ends before off+n (the reader then
// fails with an error wrapping io.ErrUnexpectedEOF), is recorded as damage.
func (r *Repository) OpenPackRange(ctx context.Context, pack blob.ID, off, n int64) (io.ReadCloser, error) {
	rc, err := r.be.Get(ctx, packName(pack), off, n)
	if err != nil {
		err = fmt.Errorf("read pack %s: %w", pack, err)
		r.noteReadFailure(ctx, index.Location{Pack: pack}, err)
		return nil, err
	}
	return &packRange{ReadCloser: rc, ctx: ctx, r: r, pack: pack, left: n}, nil
}

// packRange notes a pack that ends before the range the index promises.
type packRange struct {
	io.ReadCloser
	ctx  context.Context
	r    *Repository
	pack blob.ID
	left int64
}

func (p *packRange) Read(b []byte) (int, error) {
	n, err := p.ReadCloser.Read(b)
	p.left -= int64(n)
	if err == io.EOF && p.left > 0 {
		err = fmt.Errorf("read pack %s: object is truncated, %d bytes short: %w", p.pack, p.left, io.ErrUnexpectedEOF)
		p.r.noteReadFailure(p.ctx, index.Location{Pack: p.pack}, err)
	}
	return n, err
}

// DecodeBlob decrypts and verifies the stored bytes of the blob at loc,
// appending the plaintext to dst. Damage is ErrCorruptBlob, and recorded.
func (r *Repository) DecodeBlob(loc index.Location, stored, dst []byte) ([]byte, error) {
	out, err := r.openBlob(loc, stored, dst)
	if err != nil {
		r.noteReadFailure(context.Background(), loc, err)
	}
	return out, err
}
