package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"bbvault/internal/blob"
)

// The damage table records packs, and copies of blobs in packs, that a
// read found damaged or missing, so that nothing deduplicates against them.
// A row comes from a damage object of the repository (source is its name),
// or from this host alone (source LocalDamage) when the object could not
// be written. blob_id is empty for a whole pack. It is created beside the
// schema of schemaDDL (IF NOT EXISTS), so caches of schema version 1 gain it
// without being rebuilt.
const sqlCreateDamage = `CREATE TABLE IF NOT EXISTS damage (
	source  TEXT NOT NULL,
	pack_id BLOB NOT NULL,
	blob_id BLOB NOT NULL,
	fault   INTEGER NOT NULL,
	time_ns INTEGER NOT NULL,
	noted   TEXT NOT NULL,
	reason  TEXT NOT NULL,
	PRIMARY KEY (source, pack_id, blob_id)
) WITHOUT ROWID`

// LocalDamage is the source of damage rows known to this host only.
const LocalDamage = "local"

// DamageRow is one recorded damage: a whole pack (Blob is zero) or one copy
// of a blob in a pack.
type DamageRow struct {
	Source string
	Pack   blob.ID
	Blob   blob.ID // zero: the whole pack
	Fault  int     // the reader's classification (package repo's Fault)
	Time   time.Time
	Noted  string // who noted it: command and host
	Reason string
}

// WholePack reports whether the row is about the whole pack.
func (r DamageRow) WholePack() bool { return r.Blob.IsNull() }

func (d *DB) ensureDamageTable(ctx context.Context) error {
	var n int
	err := d.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'damage'`).Scan(&n)
	if err != nil || n > 0 {
		return wrapErr("damage table", err)
	}
	return d.write(ctx, "create damage table", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, sqlCreateDamage)
		return err
	})
}

// AddDamage records rows; a row already recorded (same source, pack and
// blob) is left as it is.
func (d *DB) AddDamage(ctx context.Context, rows []DamageRow) error {
	if len(rows) == 0 {
		return nil
	}
	return d.write(ctx, "add damage", func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO damage(source, pack_id, blob_id, fault, time_ns, noted, reason)
			VALUES (?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, r := range rows {
			if r.Source == "" || r.Pack.IsNull() {
				return errors.New("damage row without a source or a pack")
			}
			if _, err := stmt.ExecContext(ctx, r.Source, r.Pack[:], blobKey(r.Blob), r.Fault,
				r.Time.UnixNano(), r.Noted, r.Reason); err != nil {
				return err
			}
		}
		return nil
	})
}

// blobKey stores the zero ID (a whole pack) as an empty BLOB.
func blobKey(id blob.ID) []byte {
	if id.IsNull() {
		return []byte{}
	}
	return id[:]
}

// Damage returns every recorded damage row.
func (d *DB) Damage(ctx context.Context) ([]DamageRow, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT source, pack_id, blob_id, fault, time_ns, noted, reason FROM damage`)
	if err != nil {
		return nil, wrapErr("read damage", err)
	}
	defer rows.Close()
	var out []DamageRow
	for rows.Next() {
		var r DamageRow
		var pack, bl []byte
		var ns int64
		if err := rows.Scan(&r.Source, &pack, &bl, &r.Fault, &ns, &r.Noted, &r.Reason); err != nil {
			return nil, wrapErr("read damage", err)
		}
		if r.Pack, err = idFromBytes(pack); err != nil {
			return nil, wrapErr("read damage", err)
		}
		if len(bl) > 0 {
			if r.Blob, err = idFromBytes(bl); err != nil {
				return nil, wrapErr("read damage", err)
			}
		}
		r.Time = time.Unix(0, ns).UTC()
		out = append(out, r)
	}
	return out, wrapErr("read damage", rows.Err())
}

// DamageSources returns the sources of the recorded damage rows.
func (d *DB) DamageSources(ctx context.Context) (map[string]struct{}, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT DISTINCT source FROM damage`)
	if err != nil {
		return nil, wrapErr("damage sources", err)
	}
	defer rows.Close()
	out := map[string]struct{}{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, wrapErr("damage sources", err)
		}
		out[s] = struct{}{}
	}
	return out, wrapErr("damage sources", rows.Err())
}

// RemoveDamage forgets every row of the named sources.
func (d *DB) RemoveDamage(ctx context.Context, sources []string) error {
	if len(sources) == 0 {
		return nil
	}
	return d.write(ctx, "remove damage", func(tx *sql.Tx) error {
		return execEach(ctx, tx, `DELETE FROM damage WHERE source = ?`, sources)
	})
}

// RemoveLocalDamage forgets the rows of this host alone about the packs.
func (d *DB) RemoveLocalDamage(ctx context.Context, packs []blob.ID) error {
	if len(packs) == 0 {
		return nil
	}
	return d.write(ctx, "remove local damage", func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `DELETE FROM damage WHERE source = ? AND pack_id = ?`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, p := range packs {
			if _, err := stmt.ExecContext(ctx, LocalDamage, p[:]); err != nil {
				return fmt.Errorf("pack %s: %w", p.Short(), err)
			}
		}
		return nil
	})
}
