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

// Locate returns where copies of a blob are stored; the first is preferred.
func (r *Repository) Locate(ctx context.Context, id blob.ID) ([]index.Location, error) {
	locs, err := r.idx.Lookup(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("look up blob %s: %w", id.Short(), err)
	}
	if len(locs) == 0 {
		return nil, fmt.Errorf("blob %s: %w", id, ErrBlobNotFound)
	}
	return locs, nil
}

// OpenPackRange streams n bytes of a pack from offset off. The caller closes it.
func (r *Repository) OpenPackRange(ctx context.Context, pack blob.ID, off, n int64) (io.ReadCloser, error) {
	rc, err := r.be.Get(ctx, packName(pack), off, n)
	if err != nil {
		return nil, fmt.Errorf("read pack %s: %w", pack, err)
	}
	return rc, nil
}

// DecodeBlob decrypts and verifies the stored bytes of the blob at loc,
// appending the plaintext to dst. Damage is ErrCorruptBlob.
func (r *Repository) DecodeBlob(loc index.Location, stored, dst []byte) ([]byte, error) {
	return r.openBlob(loc, stored, dst)
}
