package dbstream

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// readyPollInterval is how often Ready looks at pg_dump's locks.
const readyPollInterval = 15 * time.Millisecond

// userRelationFilter selects relations in user schemas, the ones pg_dump
// dumps: not pg_catalog, pg_toast, other sessions' pg_temp_N, nor
// information_schema.
const userRelationFilter = `n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema'`

// lockTargets lists the tables pg_dump takes AccessShareLock on: plain and
// partitioned tables in user schemas (pg_dump cannot lock views, sequences
// or foreign tables). Tables belonging to an extension are left out, as
// pg_dump versions differ on whether they lock them. Run inside the
// exporting transaction, the list is exactly what pg_dump sees.
func lockTargets(ctx context.Context, tx pgx.Tx) ([]uint32, error) {
	rows, err := tx.Query(ctx, `
		SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p') AND `+userRelationFilter+`
		  AND NOT EXISTS (SELECT 1 FROM pg_depend d
		                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
		                    AND d.deptype = 'e')`)
	if err != nil {
		return nil, fmt.Errorf("listing the tables to dump: %w", err)
	}
	oids, err := pgx.CollectRows(rows, pgx.RowTo[uint32])
	if err != nil {
		return nil, fmt.Errorf("listing the tables to dump: %w", err)
	}
	return oids, nil
}

// Ready blocks until pg_dump has imported the snapshot and holds its lock on
// every table it will dump. From then on the database may change: the rest
// of the dump streams from the snapshot. It watches pg_dump's backend from a
// second connection every readyPollInterval. If pg_dump fails first, Ready
// returns its error; if pg_dump already finished successfully, nil.
func (d *Dump) Ready(ctx context.Context) error {
	if d.isReady() {
		return nil
	}
	conn, err := d.ep.connect(ctx, "", "bbvault-dump-watch")
	if err != nil {
		return fmt.Errorf("watching pg_dump's locks: %w", err)
	}
	defer closeConn(conn)
	start := time.Now()
	ticker := time.NewTicker(readyPollInterval)
	defer ticker.Stop()
	for {
		why, err := d.pollReady(ctx, conn)
		if err != nil {
			return err
		}
		if why != "" {
			d.markReady(time.Since(start), why)
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for pg_dump to lock its tables: %w", context.Cause(ctx))
		case <-d.proc.done:
			return d.exitedBeforeReady(start)
		case <-ticker.C:
		}
	}
}

// pollReady looks once at pg_dump's backend. pg_dump is ready when it holds
// a lock on every table in d.tables and is inside its transaction (holds
// some relation lock: the catalog locks of its first queries, which only
// come after the snapshot import). A COPY in progress also means ready:
// pg_dump copies data only after all its locks are taken. It returns why
// pg_dump is ready, or "" while it is not.
func (d *Dump) pollReady(ctx context.Context, conn *pgx.Conn) (string, error) {
	var query string
	var locked, anyLocks int
	err := conn.QueryRow(ctx, `
		SELECT coalesce(a.query, ''),
		       (SELECT count(DISTINCT l.relation) FROM pg_locks l
		        WHERE l.pid = a.pid AND l.locktype = 'relation' AND l.granted
		          AND l.relation = ANY($2::oid[])),
		       (SELECT count(*) FROM pg_locks l
		        WHERE l.pid = a.pid AND l.locktype = 'relation' AND l.granted)
		FROM pg_stat_activity a WHERE a.application_name = $1`,
		d.info.AppName, d.tables).Scan(&query, &locked, &anyLocks)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil // not connected yet, or already gone
	}
	if err != nil {
		return "", fmt.Errorf("watching pg_dump's locks: %w", err)
	}
	switch {
	case locked == len(d.tables) && anyLocks > 0 && len(d.tables) == 0:
		return "in its snapshot transaction, no tables to lock", nil
	case locked == len(d.tables) && anyLocks > 0:
		return "table locks held", nil
	case strings.HasPrefix(strings.TrimSpace(query), "COPY "):
		return "copying data", nil
	}
	return "", nil
}

// exitedBeforeReady is Ready's answer when pg_dump ended while it watched.
func (d *Dump) exitedBeforeReady(start time.Time) error {
	if err := d.proc.wait(); err != nil {
		return err
	}
	d.markReady(time.Since(start), "finished") // nothing left that could change
	return nil
}

func (d *Dump) isReady() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ready
}

func (d *Dump) markReady(waited time.Duration, why string) {
	d.mu.Lock()
	if !d.ready {
		close(d.readyCh)
	}
	d.ready, d.readyAt = true, time.Now()
	d.mu.Unlock()
	d.logger.Info("pg_dump no longer needs the database locked", "reason", why,
		"waited", waited, "tables", len(d.tables))
}
