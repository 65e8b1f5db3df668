package index

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"bbvault/internal/blob"
)

const (
	sqlInsertIndexFile = `INSERT INTO index_files(name) VALUES (?) ON CONFLICT(name) DO NOTHING RETURNING id`
	sqlInsertPack      = `INSERT INTO packs(index_file, pack_id, size, type) VALUES (?, ?, ?, ?) RETURNING id`
	// Blob rows first (blobs.pack has no foreign key), then the index file,
	// which cascades to its packs rows.
	sqlDeleteIndexFileBlobs = `DELETE FROM blobs WHERE pack IN
		(SELECT p.id FROM packs p JOIN index_files f ON f.id = p.index_file WHERE f.name = ?)`
	sqlDeleteIndexFile = `DELETE FROM index_files WHERE name = ?`
)

// AddIndexFile records the index object called name and the packs it lists,
// in one transaction. Adding a name that is already present is a no-op, so a
// retry or two processes ingesting the same object are harmless.
func (d *DB) AddIndexFile(ctx context.Context, name string, packs []Pack) error {
	if err := validateIndexFile(name, packs); err != nil {
		return err
	}
	return d.write(ctx, "add index file "+name, func(tx *sql.Tx) error {
		fileID, err := insertIndexFile(ctx, tx, name)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // already ingested
		}
		if err != nil {
			return err
		}
		return insertPacks(ctx, tx, fileID, packs)
	})
}

// RemoveIndexFiles forgets the named index objects and the pack and blob rows
// they brought. Rows that other index files brought stay, so a blob listed
// by two index files is still found after one of them is removed. Unknown
// names are ignored.
func (d *DB) RemoveIndexFiles(ctx context.Context, names []string) error {
	if len(names) == 0 {
		return nil
	}
	return d.write(ctx, "remove index files", func(tx *sql.Tx) error {
		for _, q := range []string{sqlDeleteIndexFileBlobs, sqlDeleteIndexFile} {
			if err := execEach(ctx, tx, q, names); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, newEpochSQL)
		return err
	})
}

// execEach runs query once per name.
func execEach(ctx context.Context, tx *sql.Tx, query string, names []string) error {
	stmt, err := tx.PrepareContext(ctx, query)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, name := range names {
		if _, err := stmt.ExecContext(ctx, name); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// write runs fn in a write transaction, one at a time within this process,
// on a connection whose page cache is enlarged for the transaction.
func (d *DB) write(ctx context.Context, op string, fn func(*sql.Tx) error) error {
	d.writeMu.Lock()
	defer d.writeMu.Unlock()
	conn, err := d.sql.Conn(ctx)
	if err != nil {
		return wrapErr(op+": connect", err)
	}
	defer conn.Close()
	if err := setCache(ctx, conn, writeCacheKiB); err != nil {
		return wrapErr(op, err)
	}
	err = inTx(ctx, conn, op, fn)
	if rerr := setCache(context.WithoutCancel(ctx), conn, readCacheKiB); rerr != nil && err == nil {
		err = wrapErr(op, rerr)
	}
	return err
}

func setCache(ctx context.Context, conn *sql.Conn, kib int) error {
	_, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA cache_size = -%d", kib))
	return err
}

func inTx(ctx context.Context, conn *sql.Conn, op string, fn func(*sql.Tx) error) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return wrapErr(op+": begin", err)
	}
	if err := fn(tx); err != nil {
		return wrapErr(op, errors.Join(err, ignoreDone(tx.Rollback())))
	}
	return wrapErr(op+": commit", tx.Commit())
}

func ignoreDone(err error) error {
	if errors.Is(err, sql.ErrTxDone) {
		return nil
	}
	return err
}

func insertIndexFile(ctx context.Context, tx *sql.Tx, name string) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, sqlInsertIndexFile, name).Scan(&id)
	return id, err
}

func insertPacks(ctx context.Context, tx *sql.Tx, fileID int64, packs []Pack) error {
	packStmt, err := tx.PrepareContext(ctx, sqlInsertPack)
	if err != nil {
		return err
	}
	defer packStmt.Close()
	var rows []blobRow
	for i := range packs {
		p := &packs[i]
		var packRow int64
		if err := packStmt.QueryRowContext(ctx, fileID, p.ID[:], p.Size, int(p.Type)).Scan(&packRow); err != nil {
			return fmt.Errorf("pack %s: %w", p.ID.Short(), err)
		}
		for _, b := range p.Blobs {
			rows = append(rows, blobRow{pack: packRow, BlobEntry: b})
		}
	}
	return insertBlobs(ctx, tx, rows)
}

// blobRow is a blobs table row waiting to be inserted.
type blobRow struct {
	pack int64
	BlobEntry
}

// blobBatch rows go in one INSERT: fewer round trips through database/sql,
// well under SQLite's limit of 32766 parameters.
const blobBatch = 128

// insertBlobs inserts rows sorted by blob ID, so that the clustered blobs
// table is filled leaf by leaf instead of at random places.
func insertBlobs(ctx context.Context, tx *sql.Tx, rows []blobRow) error {
	slices.SortFunc(rows, func(a, b blobRow) int { return bytes.Compare(a.ID[:], b.ID[:]) })
	full, err := tx.PrepareContext(ctx, insertBlobsSQL(blobBatch))
	if err != nil {
		return err
	}
	defer full.Close()
	args := make([]any, 0, 6*blobBatch)
	for len(rows) > 0 {
		n := min(len(rows), blobBatch)
		args = args[:0]
		for _, r := range rows[:n] {
			args = append(args, r.ID[:], r.pack, int64(r.Offset), int(r.Type), int64(r.Length), int64(r.RawLength))
		}
		if n == blobBatch {
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, insertBlobsSQL(n), args...)
		}
		if err != nil {
			return fmt.Errorf("insert blobs: %w", err)
		}
		rows = rows[n:]
	}
	return nil
}

// insertBlobsSQL returns an INSERT of n rows. An exact repeat of (blob,
// pack, offset) carries no information, so it is ignored rather than
// failing the whole index file.
func insertBlobsSQL(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT OR IGNORE INTO blobs(blob_id, pack, off, type, len, raw_len) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`(?,?,?,?,?,?)`)
	}
	return b.String()
}

// validateIndexFile rejects input that would make a misleading cache: the
// caller decoded it from an index object, so an error here names a bug or a
// damaged object, and says which.
func validateIndexFile(name string, packs []Pack) error {
	if name == "" {
		return errors.New("index cache: add index file: empty name")
	}
	seen := make(map[blob.ID]struct{}, len(packs))
	for i := range packs {
		p := &packs[i]
		if _, dup := seen[p.ID]; dup {
			return fmt.Errorf("index cache: index file %s lists pack %s twice", name, p.ID)
		}
		seen[p.ID] = struct{}{}
		if err := validatePack(p); err != nil {
			return fmt.Errorf("index cache: index file %s: %w", name, err)
		}
	}
	return nil
}

func validatePack(p *Pack) error {
	if p.ID.IsNull() {
		return errors.New("pack with a null ID")
	}
	if p.Size < 0 {
		return fmt.Errorf("pack %s has negative size %d", p.ID, p.Size)
	}
	if !validType(p.Type) {
		return fmt.Errorf("pack %s has unknown type %v", p.ID, p.Type)
	}
	for i := range p.Blobs {
		b := &p.Blobs[i]
		if b.ID.IsNull() || !validType(b.Type) {
			return fmt.Errorf("pack %s entry %d: blob %s of type %v: want a non-null ID of type data or tree", p.ID, i, b.ID, b.Type)
		}
	}
	return nil
}

func validType(t blob.Type) bool { return t == blob.Data || t == blob.Tree }
