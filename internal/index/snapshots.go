package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

const sqlSnapshotColumns = `SELECT id, time_ns, host, manifest FROM snapshots `

// PutSnapshot caches a snapshot manifest, replacing any row with the same ID.
func (d *DB) PutSnapshot(ctx context.Context, s SnapshotRow) error {
	if s.ID == "" {
		return errors.New("index cache: put snapshot: empty snapshot ID")
	}
	if s.Time.IsZero() {
		return fmt.Errorf("index cache: put snapshot %s: no time set", s.ID)
	}
	if s.Manifest == nil {
		s.Manifest = []byte{}
	}
	return d.write(ctx, "put snapshot "+s.ID, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			`INSERT INTO snapshots(id, time_ns, host, manifest) VALUES (?, ?, ?, ?)
			 ON CONFLICT(id) DO UPDATE SET time_ns = excluded.time_ns, host = excluded.host, manifest = excluded.manifest`,
			s.ID, s.Time.UnixNano(), s.Host, s.Manifest)
		return err
	})
}

// DeleteSnapshot forgets a cached snapshot; an unknown ID is not an error.
func (d *DB) DeleteSnapshot(ctx context.Context, id string) error {
	return d.write(ctx, "delete snapshot "+id, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM snapshots WHERE id = ?`, id)
		return err
	})
}

// Snapshot returns one cached snapshot, or ErrNotFound.
func (d *DB) Snapshot(ctx context.Context, id string) (SnapshotRow, error) {
	rows, err := d.querySnapshots(ctx, sqlSnapshotColumns+`WHERE id = ?`, id)
	if err != nil {
		return SnapshotRow{}, err
	}
	if len(rows) == 0 {
		return SnapshotRow{}, fmt.Errorf("index cache: snapshot %s: %w", id, ErrNotFound)
	}
	return rows[0], nil
}

// Snapshots returns every cached snapshot, oldest first (ties by ID).
func (d *DB) Snapshots(ctx context.Context) ([]SnapshotRow, error) {
	return d.querySnapshots(ctx, sqlSnapshotColumns+`ORDER BY time_ns, id`)
}

// SnapshotIDs returns the IDs of the cached snapshots, for comparing with the
// repository's listing.
func (d *DB) SnapshotIDs(ctx context.Context) (map[string]struct{}, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT id FROM snapshots`)
	if err != nil {
		return nil, wrapErr("list snapshot IDs", err)
	}
	defer rows.Close()
	ids := make(map[string]struct{})
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, wrapErr("list snapshot IDs", err)
		}
		ids[id] = struct{}{}
	}
	return ids, wrapErr("list snapshot IDs", rows.Err())
}

func (d *DB) querySnapshots(ctx context.Context, query string, args ...any) ([]SnapshotRow, error) {
	rows, err := d.sql.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, wrapErr("list snapshots", err)
	}
	defer rows.Close()
	var out []SnapshotRow
	for rows.Next() {
		var s SnapshotRow
		var ns int64
		if err := rows.Scan(&s.ID, &ns, &s.Host, &s.Manifest); err != nil {
			return nil, wrapErr("list snapshots", err)
		}
		s.Time = time.Unix(0, ns).UTC()
		out = append(out, s)
	}
	return out, wrapErr("list snapshots", rows.Err())
}
