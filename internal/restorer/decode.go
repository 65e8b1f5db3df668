package restorer

import (
	"context"

	"golang.org/x/sync/semaphore"

	"bbvault/internal/index"
	"bbvault/internal/repo"
)

// keepScratch is the largest buffer a decoder keeps for decompressing
// blobs; a larger compressed blob borrows one from the pool. Most of a
// home is stored raw (git compresses its objects) and is decrypted in
// place with no buffer at all: four decoders keeping one of the largest
// blob seen held 20 MiB for nothing.
const keepScratch = 1 << 20

// decodeLoop verifies blobs and writes them into their files.
func (rs *restorer) decodeLoop(ctx context.Context, budget *semaphore.Weighted, in <-chan batch) error {
	var scratch []byte // for compressed blobs of up to keepScratch bytes
	for b := range in {
		for i, f := range b {
			dst, borrowed := rs.decodeBuffer(f.wants[0].loc.BlobEntry, &scratch)
			err := ctx.Err()
			if err == nil {
				err = rs.decodeOne(ctx, f, dst)
			}
			if borrowed {
				rs.bufs.put(dst)
			}
			rs.recycle(f, budget)
			if err != nil {
				for _, rest := range b[i+1:] {
					rs.recycle(rest, budget)
				}
				rs.drain(in, budget)
				return err
			}
		}
	}
	return nil
}

// decodeBuffer is where a blob is decompressed: nowhere for one stored raw,
// the decoder's scratch (grown) for a small one, a buffer of the pool for
// a large one, which the caller puts back.
func (rs *restorer) decodeBuffer(e index.BlobEntry, scratch *[]byte) (dst []byte, borrowed bool) {
	n := int(e.RawLength)
	switch {
	case !repo.StoredCompressed(e):
		return nil, false
	case n > keepScratch:
		return rs.bufs.get(n)[:0], true
	case cap(*scratch) < n:
		*scratch = make([]byte, 0, n)
	}
	return *scratch, false
}

// recycle gives back the buffer and the budget of a blob handled.
func (rs *restorer) recycle(f fetched, budget *semaphore.Weighted) {
	if f.stored != nil {
		rs.bufs.put(f.stored)
		budget.Release(rs.cost(f.wants[0].loc.Length))
	}
}

// drain empties the channel after a failure so that readers blocked on it
// can see the cancelled context and stop.
func (rs *restorer) drain(in <-chan batch, budget *semaphore.Weighted) {
	for b := range in {
		for _, f := range b {
			rs.recycle(f, budget)
		}
	}
}

// decodeOne verifies one blob (decrypting over its stored bytes, and
// decompressing into dst: see decodeBuffer), falls back to another copy
// when it is damaged, and delivers it.
func (rs *restorer) decodeOne(ctx context.Context, f fetched, dst []byte) error {
	loc := f.wants[0].loc
	blobErr := f.err
	var plain []byte
	if blobErr == nil {
		plain, blobErr = rs.r.DecodeBlobInPlace(loc, f.stored, dst)
	}
	if blobErr != nil && f.wants[0].copies > 1 {
		if alt, err := rs.r.LoadBlob(ctx, loc.ID, dst[:0]); err == nil {
			plain, blobErr = alt, nil
		} else if !repo.IsDamage(err) {
			return unreachable(err)
		}
	}
	return rs.deliver(f.wants, plain, blobErr)
}

// deliver writes one blob to every file that wants it; a blob error marks
// those files as failed.
func (rs *restorer) deliver(ws []want, data []byte, blobErr error) error {
	for _, w := range ws {
		if blobErr != nil {
			rs.fail(w.file, blobErr)
		} else if err := rs.writeBlob(w.file, data, w.offset); err != nil {
			return err
		}
		if err := rs.done(w.file); err != nil {
			return err
		}
	}
	return nil
}
