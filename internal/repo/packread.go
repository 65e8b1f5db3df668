package repo

import (
	"context"
	"fmt"
	"io"

	"bbvault/internal/blob"
	"bbvault/internal/crypto"
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

// LocateMany is Locate for many blobs at once, cheaper per blob: fn gets
// each index into ids with the blob's locations; a blob no index knows is
// an error wrapping ErrBlobNotFound handed to fn (damage: the caller goes
// on), any other error ends the call.
func (r *Repository) LocateMany(ctx context.Context, ids []blob.ID, fn func(i int, locs []index.Location, err error) error) error {
	err := r.idx.LookupMany(ctx, ids, func(i int, locs []index.Location) error {
		if len(locs) == 0 {
			return fn(i, nil, fmt.Errorf("blob %s: %w", ids[i], ErrBlobNotFound))
		}
		return fn(i, r.preferIntact(locs), nil)
	})
	if err != nil {
		return fmt.Errorf("look up blobs: %w", err)
	}
	return nil
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

// DecodeBlobInPlace is DecodeBlob for a caller that gives up stored: it
// decrypts over it and returns the plaintext, which is part of stored for
// an uncompressed blob (no copy) and in dst[:0] for a compressed one.
// Either way it is verified against the blob's ID. Damage is ErrCorruptBlob,
// and recorded.
func (r *Repository) DecodeBlobInPlace(loc index.Location, stored, dst []byte) ([]byte, error) {
	out, err := r.decodeInPlace(loc, stored, dst)
	if err != nil {
		r.noteReadFailure(context.Background(), loc, err)
	}
	return out, err
}

// StoredCompressed reports from its index entry whether a blob is stored
// compressed: one stored raw is exactly its plaintext, the flag byte and
// the sealing long. Decoding it in place needs a buffer of RawLength only
// then.
func StoredCompressed(e index.BlobEntry) bool {
	return int64(e.Length) < int64(e.RawLength)+crypto.Overhead+1
}

func (r *Repository) decodeInPlace(loc index.Location, stored, dst []byte) ([]byte, error) {
	out, err := r.codec.openInPlace(dst, stored, loc.ID[:])
	if err != nil {
		return nil, fmt.Errorf("blob %s in pack %s: %w: %w", loc.ID.Short(), loc.Pack, ErrCorruptBlob, err)
	}
	if len(out) != int(loc.RawLength) || r.key.ID(out) != loc.ID {
		return nil, fmt.Errorf("blob %s in pack %s: %w: content does not match its ID", loc.ID.Short(), loc.Pack, ErrCorruptBlob)
	}
	return out, nil
}
