package synth

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	_ "modernc.org/sqlite" // the driver bbvault's cache uses

	"bbvault/internal/blob"
)

// rowsPerStatement and rowsPerTx batch the blob rows.
const (
	rowsPerStatement = 200
	rowsPerTx        = 500_000
)

// insertBlobs writes the blob rows straight into the cache, in ID order,
// with the table's other indexes dropped meanwhile and built again at the
// end from their own definitions (rows of 50 million blobs put into the
// pack index as they come took an hour). It knows the blobs table's
// columns (internal/index/schema.go); the synth test fails if they change.
func insertBlobs(ctx context.Context, o Options, path string) error {
	db, err := sql.Open("sqlite", path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)&_pragma=cache_size(-262144)")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	rowOf, err := packRows(ctx, db, o)
	if err != nil {
		return err
	}
	indexes, err := dropIndexes(ctx, db)
	if err != nil {
		return err
	}
	stmt := insertSQL(rowsPerStatement)
	for start := 0; start < o.Blobs; start += rowsPerTx {
		if err := insertRange(ctx, db, o, rowOf, stmt, start, min(start+rowsPerTx, o.Blobs)); err != nil {
			return err
		}
		if (start/rowsPerTx)%20 == 19 {
			o.Logger.Info("synthetic blob rows", "done", start+rowsPerTx, "of", o.Blobs)
		}
	}
	for _, ddl := range indexes {
		if _, err := db.ExecContext(ctx, ddl); err != nil {
			return fmt.Errorf("rebuild index: %w", err)
		}
	}
	return nil
}

// dropIndexes drops the blobs table's indexes and returns the statements
// that create them again.
func dropIndexes(ctx context.Context, db *sql.DB) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'blobs' AND sql IS NOT NULL`)
	if err != nil {
		return nil, err
	}
	var names, ddls []string
	for rows.Next() {
		var name, ddl string
		if err := rows.Scan(&name, &ddl); err != nil {
			rows.Close()
			return nil, err
		}
		names, ddls = append(names, name), append(ddls, ddl)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, name := range names {
		if _, err := db.ExecContext(ctx, `DROP INDEX "`+name+`"`); err != nil {
			return nil, err
		}
	}
	return ddls, nil
}

// packRows maps each pack number to its row in the packs table.
func packRows(ctx context.Context, db *sql.DB, o Options) ([]int64, error) {
	byID := map[blob.ID]int64{}
	rows, err := db.QueryContext(ctx, `SELECT id, pack_id FROM packs`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var row int64
		var raw []byte
		if err := rows.Scan(&row, &raw); err != nil {
			return nil, err
		}
		byID[blob.ID(raw)] = row
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]int64, o.packCount())
	for p := range out {
		row, ok := byID[o.packID(p)]
		if !ok {
			return nil, fmt.Errorf("pack %d is not in the cache", p)
		}
		out[p] = row
	}
	return out, nil
}

// insertRange inserts blobs start..end-1 in one transaction.
func insertRange(ctx context.Context, db *sql.DB, o Options, rowOf []int64, stmt string, start, end int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit, a no-op
	full, err := tx.PrepareContext(ctx, stmt)
	if err != nil {
		return err
	}
	defer full.Close()
	args := make([]any, 0, 6*rowsPerStatement)
	packs := o.packCount()
	for k := start; k < end; k++ {
		id := o.blobID(k)
		args = append(args, id[:], rowOf[k%packs], int64((k/packs)*blobLength), int(blob.Data), int64(blobLength), int64(blobLength+100))
		if len(args) == cap(args) || k == end-1 {
			q := full
			if len(args) < cap(args) {
				if q, err = tx.PrepareContext(ctx, insertSQL(len(args)/6)); err != nil {
					return err
				}
			}
			if _, err := q.ExecContext(ctx, args...); err != nil {
				return err
			}
			args = args[:0]
		}
	}
	return tx.Commit()
}

func insertSQL(n int) string {
	return `INSERT INTO blobs(blob_id, pack, off, type, len, raw_len) VALUES ` +
		strings.TrimSuffix(strings.Repeat("(?,?,?,?,?,?),", n), ",")
}
