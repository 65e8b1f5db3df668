package index

import (
	"context"
	"database/sql"
	"fmt"
	"sort"

	"bbvault/internal/blob"
)

const (
	sqlHas    = `SELECT 1 FROM blobs WHERE blob_id = ? LIMIT 1`
	sqlLookup = `SELECT DISTINCT p.pack_id, b.type, b.off, b.len, b.raw_len
		FROM blobs b JOIN packs p ON p.id = b.pack
		WHERE b.blob_id = ? ORDER BY p.pack_id, b.off`

	// packColumns and packJoin select packs with their blobs, one row per
	// blob (or one row with NULL blob columns for an empty pack), ordered so
	// that a pack's rows are consecutive.
	packColumns = `SELECT p.id, p.pack_id, p.size, p.type, b.blob_id, b.type, b.off, b.len, b.raw_len `
	packJoin    = `FROM packs p LEFT JOIN blobs b ON b.pack = p.id `

	// sqlAllPacks keeps one packs row per pack ID (the oldest) when several
	// index files list the same pack.
	sqlAllPacks = packColumns + packJoin +
		`WHERE p.id = (SELECT MIN(q.id) FROM packs q WHERE q.pack_id = p.pack_id) ORDER BY p.id, b.off`
	sqlOnePack = packColumns + packJoin +
		`WHERE p.id = (SELECT MIN(q.id) FROM packs q WHERE q.pack_id = ?) ORDER BY b.off`
	sqlIndexFilePacks = packColumns + packJoin +
		`WHERE p.index_file = (SELECT id FROM index_files WHERE name = ?) ORDER BY p.id, b.off`
)

// Has reports whether any ingested index file lists the blob. It asks SQLite
// through a prepared statement, 10 to 15 µs of CPU a call on a cache of a million
// blobs (a read transaction and a B-tree search each time). A saver that
// asks once per chunk should load KnownSet once instead: its Has takes well
// under a microsecond.
func (d *DB) Has(ctx context.Context, id blob.ID) (bool, error) {
	var one int
	err := d.hasStmt.QueryRowContext(ctx, id[:]).Scan(&one)
	switch err {
	case nil:
		return true, nil
	case sql.ErrNoRows:
		return false, nil
	}
	return false, wrapErr("has "+id.Short(), err)
}

// Lookup returns every place the blob is stored, ordered by pack ID; empty
// (and no error) if no ingested index file lists it.
func (d *DB) Lookup(ctx context.Context, id blob.ID) ([]Location, error) {
	return lookupWith(ctx, d.lookupStmt, id)
}

// LookupMany is Lookup for many blobs in one read transaction, which saves
// the transaction (file locks, a size check) SQLite starts for every query
// on its own: a restore asks for every blob of a home. fn gets each index
// into ids with its locations, in order.
func (d *DB) LookupMany(ctx context.Context, ids []blob.ID, fn func(i int, locs []Location) error) error {
	tx, err := d.sql.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return wrapErr("lookup", err)
	}
	defer tx.Rollback() // read only: nothing to keep
	stmt := tx.StmtContext(ctx, d.lookupStmt)
	defer stmt.Close()
	for i, id := range ids {
		locs, err := lookupWith(ctx, stmt, id)
		if err != nil {
			return err
		}
		if err := fn(i, locs); err != nil {
			return err
		}
	}
	return nil
}

func lookupWith(ctx context.Context, stmt *sql.Stmt, id blob.ID) ([]Location, error) {
	rows, err := stmt.QueryContext(ctx, id[:])
	if err != nil {
		return nil, wrapErr("lookup "+id.Short(), err)
	}
	defer rows.Close()
	var locs []Location
	for rows.Next() {
		var packID []byte
		var typ, off, n, raw int64
		if err := rows.Scan(&packID, &typ, &off, &n, &raw); err != nil {
			return nil, wrapErr("lookup "+id.Short(), err)
		}
		pid, err := idFromBytes(packID)
		if err != nil {
			return nil, wrapErr("lookup "+id.Short(), err)
		}
		locs = append(locs, Location{Pack: pid, BlobEntry: BlobEntry{
			ID: id, Type: blob.Type(typ), Offset: uint32(off), Length: uint32(n), RawLength: uint32(raw),
		}})
	}
	return locs, wrapErr("lookup "+id.Short(), rows.Err())
}

// IndexFiles returns the names of the ingested index objects.
func (d *DB) IndexFiles(ctx context.Context) (map[string]struct{}, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT name FROM index_files`)
	if err != nil {
		return nil, wrapErr("list index files", err)
	}
	defer rows.Close()
	names := make(map[string]struct{})
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, wrapErr("list index files", err)
		}
		names[n] = struct{}{}
	}
	return names, wrapErr("list index files", rows.Err())
}

// Packs calls fn for every distinct pack with its blobs ordered by offset,
// in no particular pack order. A pack listed by several index files is
// reported once. It reads from one consistent snapshot of the cache and
// stops at the first error fn returns. fn may call other read methods.
func (d *DB) Packs(ctx context.Context, fn func(Pack) error) error {
	rows, err := d.sql.QueryContext(ctx, sqlAllPacks)
	if err != nil {
		return wrapErr("list packs", err)
	}
	defer rows.Close()
	return wrapErr("list packs", groupPacks(rows, fn))
}

// Pack returns one pack with its blobs ordered by offset, or ErrNotFound.
func (d *DB) Pack(ctx context.Context, id blob.ID) (Pack, error) {
	ps, err := d.queryPacks(ctx, "pack "+id.Short(), sqlOnePack, id[:])
	if err != nil {
		return Pack{}, err
	}
	if len(ps) == 0 {
		return Pack{}, fmt.Errorf("index cache: pack %s: %w", id, ErrNotFound)
	}
	return ps[0], nil
}

// IndexFilePacks returns the packs the named index object lists, as they
// were ingested (prune uses it to rewrite an index object without some
// packs). An unknown name gives ErrNotFound.
func (d *DB) IndexFilePacks(ctx context.Context, name string) ([]Pack, error) {
	ps, err := d.queryPacks(ctx, "index file "+name, sqlIndexFilePacks, name)
	if err != nil || len(ps) > 0 {
		return ps, err
	}
	known, err := d.hasIndexFile(ctx, name)
	if err != nil {
		return nil, err
	}
	if !known {
		return nil, fmt.Errorf("index cache: index file %s: %w", name, ErrNotFound)
	}
	return ps, nil
}

func (d *DB) hasIndexFile(ctx context.Context, name string) (bool, error) {
	var n int
	err := d.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM index_files WHERE name = ?`, name).Scan(&n)
	return n > 0, wrapErr("index file "+name, err)
}

func (d *DB) queryPacks(ctx context.Context, op, query string, args ...any) ([]Pack, error) {
	rows, err := d.sql.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, wrapErr(op, err)
	}
	defer rows.Close()
	var ps []Pack
	err = groupPacks(rows, func(p Pack) error {
		ps = append(ps, p)
		return nil
	})
	return ps, wrapErr(op, err)
}

// IndexFilesWithPacks returns, sorted, the names of the index objects that
// list at least one of the given packs: those a prune must rewrite before
// it may delete the packs.
func (d *DB) IndexFilesWithPacks(ctx context.Context, packIDs []blob.ID) ([]string, error) {
	set := make(map[string]struct{})
	stmt, err := d.sql.PrepareContext(ctx,
		`SELECT f.name FROM packs p JOIN index_files f ON f.id = p.index_file WHERE p.pack_id = ?`)
	if err != nil {
		return nil, wrapErr("index files with packs", err)
	}
	defer stmt.Close()
	for _, id := range packIDs {
		if err := collectNames(ctx, stmt, id, set); err != nil {
			return nil, wrapErr("index files with pack "+id.Short(), err)
		}
	}
	names := make([]string, 0, len(set))
	for n := range set {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

func collectNames(ctx context.Context, stmt *sql.Stmt, id blob.ID, set map[string]struct{}) error {
	rows, err := stmt.QueryContext(ctx, id[:])
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return err
		}
		set[n] = struct{}{}
	}
	return rows.Err()
}

// PackSizes returns every distinct pack and its size (check compares it with
// the backend's listing; prune uses it to find unreferenced pack objects).
func (d *DB) PackSizes(ctx context.Context) (map[blob.ID]int64, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT pack_id, MAX(size) FROM packs GROUP BY pack_id`)
	if err != nil {
		return nil, wrapErr("pack sizes", err)
	}
	defer rows.Close()
	sizes := make(map[blob.ID]int64)
	for rows.Next() {
		var raw []byte
		var size int64
		if err := rows.Scan(&raw, &size); err != nil {
			return nil, wrapErr("pack sizes", err)
		}
		id, err := idFromBytes(raw)
		if err != nil {
			return nil, wrapErr("pack sizes", err)
		}
		sizes[id] = size
	}
	return sizes, wrapErr("pack sizes", rows.Err())
}

// Stats counts what the cache holds. It reads every blob row, so it takes a
// fraction of a second on a cache of a million blobs.
func (d *DB) Stats(ctx context.Context) (Stats, error) {
	var s Stats
	tx, err := d.sql.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return s, wrapErr("stats", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	queries := []struct {
		q    string
		dest []any
	}{
		{`SELECT COUNT(*) FROM index_files`, []any{&s.IndexFiles}},
		{`SELECT COUNT(*), COALESCE(SUM(size), 0) FROM (SELECT MAX(size) AS size FROM packs GROUP BY pack_id)`, []any{&s.Packs, &s.PackBytes}},
		{`SELECT COUNT(*) FROM blobs`, []any{&s.BlobEntries}},
		{`SELECT COUNT(*), COALESCE(SUM(raw), 0) FROM (SELECT MIN(raw_len) AS raw FROM blobs GROUP BY blob_id)`, []any{&s.Blobs, &s.RawBytes}},
	}
	for _, q := range queries {
		if err := tx.QueryRowContext(ctx, q.q).Scan(q.dest...); err != nil {
			return s, wrapErr("stats", err)
		}
	}
	return s, nil
}
