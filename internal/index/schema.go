package index

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// schemaVersion is bumped whenever the tables below change. A cache file with
// another version is wiped and rebuilt: it is only a cache.
const schemaVersion = "2"

// Meta keys.
const (
	metaSchemaVersion = "schema_version"
	metaRepoID        = "repo_id"
)

// schemaDDL creates every table. Blob IDs and pack IDs are stored as 32-byte
// BLOBs. A pack may be listed by several index files (for example while a
// prune on another host replaces index objects), so a packs row belongs to
// one index file and the same pack_id may appear in several rows. The blobs
// table is clustered on the blob ID (WITHOUT ROWID), so Has and Lookup are a
// single B-tree search. blobs_by_pack covers every column (the primary key
// is in every index entry of a WITHOUT ROWID table), so listing packs with
// their blobs reads that index alone: before version 2 it went to the table
// for each blob, and sweeping 2 million blobs took 31 s instead of 1 s.
// blobs.pack has no foreign key on purpose: the check
// makes SQLite keep a statement journal for every multi-row INSERT, which
// cost a fifth of the ingest time; RemoveIndexFiles deletes blob rows
// itself before their packs.
var schemaDDL = []string{
	`CREATE TABLE meta (
		key   TEXT PRIMARY KEY,
		value TEXT NOT NULL
	)`,
	`CREATE TABLE index_files (
		id   INTEGER PRIMARY KEY,
		name TEXT NOT NULL UNIQUE
	)`,
	`CREATE TABLE packs (
		id         INTEGER PRIMARY KEY,
		index_file INTEGER NOT NULL REFERENCES index_files(id) ON DELETE CASCADE,
		pack_id    BLOB NOT NULL,
		size       INTEGER NOT NULL,
		type       INTEGER NOT NULL,
		UNIQUE (index_file, pack_id)
	)`,
	`CREATE INDEX packs_by_pack_id ON packs(pack_id)`,
	`CREATE TABLE blobs (
		blob_id BLOB NOT NULL,
		pack    INTEGER NOT NULL,
		off     INTEGER NOT NULL,
		type    INTEGER NOT NULL,
		len     INTEGER NOT NULL,
		raw_len INTEGER NOT NULL,
		PRIMARY KEY (blob_id, pack, off)
	) WITHOUT ROWID`,
	`CREATE INDEX blobs_by_pack ON blobs(pack, off, type, len, raw_len)`,
	`CREATE TABLE snapshots (
		id       TEXT PRIMARY KEY,
		time_ns  INTEGER NOT NULL,
		host     TEXT NOT NULL,
		manifest BLOB NOT NULL
	)`,
	`CREATE INDEX snapshots_by_time ON snapshots(time_ns, id)`,
}

// cacheState is what an existing file says about itself.
type cacheState struct {
	tables  []string // user tables and views, newest first
	version string
	repoID  string
}

// ensureSchema makes the file hold this schema version for repoID. The
// usual case, a file already in order, only reads; creating or wiping
// happens in one IMMEDIATE transaction that looks again, so that two
// processes opening a new file at once do not both create it.
func (d *DB) ensureSchema(ctx context.Context, repoID string) error {
	ok, err := d.schemaMatches(ctx, repoID)
	if err != nil || ok {
		return err
	}
	return d.write(ctx, "prepare schema", func(tx *sql.Tx) error {
		st, err := readState(ctx, tx)
		if err != nil || st.matches(repoID) {
			return err
		}
		if len(st.tables) > 0 {
			d.log.Info("index cache belongs to another repository or schema; rebuilding it",
				logKeyPath, d.path, logKeyWhy, st.mismatch(repoID))
			if err := wipe(ctx, tx, st.tables); err != nil {
				return err
			}
		}
		return createSchema(ctx, tx, repoID)
	})
}

func (d *DB) schemaMatches(ctx context.Context, repoID string) (bool, error) {
	tx, err := d.sql.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return false, wrapErr("begin", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	st, err := readState(ctx, tx)
	return err == nil && st.matches(repoID), err
}

func (st cacheState) matches(repoID string) bool {
	return st.version == schemaVersion && st.repoID == repoID
}

// mismatch explains, for the log, why a file is rebuilt.
func (st cacheState) mismatch(repoID string) string {
	switch {
	case st.version == "":
		return "no bbvault metadata"
	case st.version != schemaVersion:
		return fmt.Sprintf("schema version %q, want %q", st.version, schemaVersion)
	case st.repoID != repoID:
		return "different repository ID"
	}
	return "unknown"
}

func readState(ctx context.Context, tx *sql.Tx) (cacheState, error) {
	var st cacheState
	rows, err := tx.QueryContext(ctx,
		`SELECT type, name FROM sqlite_master WHERE type IN ('table','view') AND name NOT LIKE 'sqlite_%' ORDER BY rowid DESC`)
	if err != nil {
		return st, wrapErr("read schema", err)
	}
	defer rows.Close()
	hasMeta := false
	for rows.Next() {
		var typ, name string
		if err := rows.Scan(&typ, &name); err != nil {
			return st, wrapErr("read schema", err)
		}
		st.tables = append(st.tables, typ+" "+quoteIdent(name))
		hasMeta = hasMeta || (typ == "table" && name == "meta")
	}
	if err := rows.Err(); err != nil {
		return st, wrapErr("read schema", err)
	}
	if !hasMeta {
		return st, nil
	}
	return st, readMeta(ctx, tx, &st)
}

func readMeta(ctx context.Context, tx *sql.Tx, st *cacheState) error {
	rows, err := tx.QueryContext(ctx, `SELECT key, value FROM meta`)
	if err != nil {
		// A meta table of some other shape: treat the file as foreign.
		if isCorrupt(err) {
			return wrapErr("read meta", err)
		}
		return nil
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return wrapErr("read meta", err)
		}
		switch k {
		case metaSchemaVersion:
			st.version = v
		case metaRepoID:
			st.repoID = v
		}
	}
	return wrapErr("read meta", rows.Err())
}

// wipe drops every table and view. Foreign keys are deferred so that the
// implicit DELETE of a parent table does not trip over its children, which
// are dropped in the same transaction.
func wipe(ctx context.Context, tx *sql.Tx, objects []string) error {
	if _, err := tx.ExecContext(ctx, `PRAGMA defer_foreign_keys = ON`); err != nil {
		return wrapErr("wipe", err)
	}
	for _, obj := range objects {
		if _, err := tx.ExecContext(ctx, "DROP "+obj); err != nil {
			return wrapErr("wipe", err)
		}
	}
	return nil
}

func createSchema(ctx context.Context, tx *sql.Tx, repoID string) error {
	for _, stmt := range schemaDDL {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return wrapErr("create schema", err)
		}
	}
	epoch, err := randomEpoch()
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO meta(key, value) VALUES (?, ?), (?, ?), (?, ?)`,
		metaSchemaVersion, schemaVersion, metaRepoID, repoID, metaEpoch, strconv.FormatUint(epoch, 10))
	return wrapErr("write meta", err)
}

// randomEpoch starts a new cache's epoch at a random number, so that a
// fingerprints file left beside a cache that was replaced does not pass
// for the new one's.
func randomEpoch() (uint64, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return 0, fmt.Errorf("index cache: random epoch: %w", err)
	}
	return binary.LittleEndian.Uint64(b[:]) >> 2, nil
}

func quoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}
