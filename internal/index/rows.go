package index

import (
	"database/sql"
	"fmt"

	"bbvault/internal/blob"
)

// packRow is one row of a packs-with-blobs query.
type packRow struct {
	row                 int64
	packID              []byte
	size, packType      int64
	blobID              []byte
	blobType, off, n, r sql.NullInt64
}

func (pr *packRow) scan(rows *sql.Rows) error {
	return rows.Scan(&pr.row, &pr.packID, &pr.size, &pr.packType,
		&pr.blobID, &pr.blobType, &pr.off, &pr.n, &pr.r)
}

// groupPacks folds consecutive rows of the same packs row into one Pack and
// hands each to fn.
func groupPacks(rows *sql.Rows, fn func(Pack) error) error {
	var cur Pack
	curRow := int64(-1)
	for rows.Next() {
		var pr packRow
		if err := pr.scan(rows); err != nil {
			return err
		}
		if pr.row != curRow {
			if curRow >= 0 {
				if err := fn(cur); err != nil {
					return err
				}
			}
			p, err := pr.pack()
			if err != nil {
				return err
			}
			cur, curRow = p, pr.row
		}
		if err := pr.appendBlob(&cur); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if curRow >= 0 {
		return fn(cur)
	}
	return nil
}

func (pr *packRow) pack() (Pack, error) {
	id, err := idFromBytes(pr.packID)
	if err != nil {
		return Pack{}, err
	}
	return Pack{ID: id, Size: pr.size, Type: blob.Type(pr.packType)}, nil
}

func (pr *packRow) appendBlob(p *Pack) error {
	if pr.blobID == nil {
		return nil // a pack without blobs
	}
	id, err := idFromBytes(pr.blobID)
	if err != nil {
		return err
	}
	p.Blobs = append(p.Blobs, BlobEntry{
		ID: id, Type: blob.Type(pr.blobType.Int64), Offset: uint32(pr.off.Int64),
		Length: uint32(pr.n.Int64), RawLength: uint32(pr.r.Int64),
	})
	return nil
}

// idFromBytes converts a stored ID; a wrong length means the file was
// damaged or written by something else.
func idFromBytes(b []byte) (blob.ID, error) {
	var id blob.ID
	if len(b) != len(id) {
		return id, fmt.Errorf("%w: stored ID has %d bytes, want %d", ErrCorrupt, len(b), len(id))
	}
	copy(id[:], b)
	return id, nil
}
