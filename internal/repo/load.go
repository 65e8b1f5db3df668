package repo

import (
	"context"
	"errors"
	"fmt"

	"bbvault/internal/blob"
	"bbvault/internal/index"
	"bbvault/internal/tree"
)

// LoadBlob reads blob id, verifies it and appends its plaintext to dst. When
// several packs hold the blob, copies not known bad are tried first and a
// corrupt copy falls back to the next. A copy found damaged or missing is
// recorded (see Packs.RecordDamage).
func (r *Repository) LoadBlob(ctx context.Context, id blob.ID, dst []byte) ([]byte, error) {
	locs, err := r.idx.Lookup(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("look up blob %s: %w", id.Short(), err)
	}
	if len(locs) == 0 {
		return nil, fmt.Errorf("blob %s: %w", id, ErrBlobNotFound)
	}
	var errs []error
	for _, loc := range r.preferIntact(locs) {
		out, err := r.loadAt(ctx, loc, dst)
		if err == nil {
			return out, nil
		}
		if ctx.Err() != nil {
			return nil, err
		}
		r.noteReadFailure(ctx, loc, err)
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

// LoadTree reads a tree blob and decodes it. A tree that does not decode is
// damage (Classify says Damaged), like one that does not verify.
func (r *Repository) LoadTree(ctx context.Context, id blob.ID) (tree.Tree, error) {
	b, err := r.LoadBlob(ctx, id, nil)
	if err != nil {
		return tree.Tree{}, err
	}
	t, err := tree.Decode(b)
	if err != nil {
		return tree.Tree{}, fmt.Errorf("tree %s: %w", id.Short(), err)
	}
	return t, nil
}
