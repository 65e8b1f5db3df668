package repo

import (
	"context"
	"errors"
	"fmt"

	"bbvault/internal/blob"
	"bbvault/internal/index"
)

// ErrBlobNotFound means no index entry names the blob.
var ErrBlobNotFound = errors.New("blob is not in the repository index")

// ErrCorruptBlob means a blob's stored bytes did not verify: wrong
// authentication tag, or plaintext that does not hash to its ID.
var ErrCorruptBlob = errors.New("blob is corrupt")

// LoadBlob reads blob id, verifies it and appends its plaintext to dst. When
// several packs hold the blob, a corrupt copy falls back to the next.
func (r *Repository) LoadBlob(ctx context.Context, id blob.ID, dst []byte) ([]byte, error) {
	locs, err := r.idx.Lookup(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("look up blob %s: %w", id.Short(), err)
	}
	if len(locs) == 0 {
		return nil, fmt.Errorf("blob %s: %w", id, ErrBlobNotFound)
	}
	var errs []error
	for _, loc := range locs {
		out, err := r.loadAt(ctx, loc, dst)
		if err == nil {
			return out, nil
		}
		if ctx.Err() != nil {
			return nil, err
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

// loadAt reads one copy of a blob from its pack.
func (r *Repository) loadAt(ctx context.Context, loc index.Location, dst []byte) ([]byte, error) {
	if loc.Type == blob.Tree {
		return r.loadTreeBlob(ctx, loc, dst)
	}
	stored, err := r.readRange(ctx, packName(loc.Pack), int64(loc.Offset), int64(loc.Length))
	if err != nil {
		return nil, fmt.Errorf("blob %s in pack %s: %w", loc.ID.Short(), loc.Pack, err)
	}
	return r.openBlob(loc, stored, dst)
}

// openBlob decrypts, decompresses and verifies one stored blob.
func (r *Repository) openBlob(loc index.Location, stored, dst []byte) ([]byte, error) {
	n := len(dst)
	out, err := r.codec.open(dst, stored, loc.ID[:])
	if err != nil {
		return nil, fmt.Errorf("blob %s in pack %s: %w: %w", loc.ID.Short(), loc.Pack, ErrCorruptBlob, err)
	}
	if r.key.ID(out[n:]) != loc.ID || len(out)-n != int(loc.RawLength) {
		return nil, fmt.Errorf("blob %s in pack %s: %w: content does not match its ID", loc.ID.Short(), loc.Pack, ErrCorruptBlob)
	}
	return out, nil
}

// BlobSize returns the plaintext size of a blob from the index.
func (r *Repository) BlobSize(ctx context.Context, id blob.ID) (int64, error) {
	locs, err := r.idx.Lookup(ctx, id)
	if err != nil {
		return 0, fmt.Errorf("look up blob %s: %w", id.Short(), err)
	}
	if len(locs) == 0 {
		return 0, fmt.Errorf("blob %s: %w", id, ErrBlobNotFound)
	}
	return int64(locs[0].RawLength), nil
}

// HasBlob reports whether the index knows the blob.
func (r *Repository) HasBlob(ctx context.Context, id blob.ID) (bool, error) {
	return r.idx.Has(ctx, id)
}
