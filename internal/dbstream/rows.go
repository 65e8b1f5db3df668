package dbstream

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// errNotCounted is TableRows' answer for a dump whose rows were not counted.
var errNotCounted = errors.New("the dump's rows were not counted (the dump did not run to its end)")

// countedTables lists the tables whose rows are counted, at dump time and
// after a restore alike: plain tables (partitions included, partitioned
// parents not, so no row counts twice) in user schemas, without the tables
// of extensions, whose data pg_dump leaves to the extension.
const countedTables = `
	SELECT format('%I.%I', n.nspname, c.relname)
	FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE c.relkind = 'r' AND ` + userRelationFilter + `
	  AND NOT EXISTS (SELECT 1 FROM pg_depend d
	                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
	ORDER BY 1`

// querier is a connection or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// countRows counts the rows of every counted table exactly (count(*): a
// sequential scan of each), keyed "schema.table" as format('%I.%I')
// quotes it.
func countRows(ctx context.Context, q querier) (map[string]int64, error) {
	rows, err := q.Query(ctx, countedTables)
	if err != nil {
		return nil, fmt.Errorf("listing tables: %w", err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("listing tables: %w", err)
	}
	out := make(map[string]int64, len(tables))
	for _, table := range tables {
		var n int64
		// table is quoted by format('%I.%I') above.
		if err := q.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
			return nil, fmt.Errorf("counting rows of %s: %w", table, err)
		}
		out[table] = n
	}
	return out, nil
}

// rowCounter counts the rows of a dump's snapshot in the exporting
// transaction while pg_dump streams. Its goroutine starts with the dump and
// is joined before the transaction ends.
type rowCounter struct {
	cancel context.CancelFunc
	done   chan struct{} // the goroutine ended
	once   sync.Once
	final  chan struct{} // the result below is final
	rows   map[string]int64
	err    error
	took   time.Duration
}

// startCounting counts once pg_dump no longer needs the instance locked
// (Ready) or has ended, so the counting never lengthens the lock window.
// The counts see exactly the rows the dump holds: the same snapshot.
func (d *Dump) startCounting(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	rc := &rowCounter{cancel: cancel, done: make(chan struct{}), final: make(chan struct{})}
	d.counter = rc
	go func() {
		defer close(rc.done)
		select {
		case <-ctx.Done():
			rc.err = fmt.Errorf("counting rows: %w", context.Cause(ctx))
			return
		case <-d.readyCh:
		case <-d.proc.done:
			if d.proc.err != nil {
				rc.err = errNotCounted
				return
			}
		}
		if d.catalogDone != nil {
			<-d.catalogDone // the catalog fingerprint reads through the same transaction
		}
		t0 := time.Now()
		rc.rows, rc.err = countRows(ctx, d.tx)
		rc.took = time.Since(t0)
	}()
}

// stopCounting ends the counting, once, before the exporting transaction
// ends: it waits for it when the stream was read to its end (complete),
// else it cancels it and keeps no counts, as the dump is not whole.
func (d *Dump) stopCounting(complete bool) {
	rc := d.counter
	if rc == nil {
		return
	}
	rc.once.Do(func() {
		defer close(rc.final)
		if !complete {
			rc.cancel()
		}
		<-rc.done
		rc.cancel()
		switch {
		case !complete:
			rc.rows, rc.err = nil, errNotCounted
		case rc.err != nil:
			d.logger.Warn("could not count the rows of the dump's snapshot; a drill cannot compare them", "error", rc.err)
		default:
			d.logger.Info("counted the rows of the dump's snapshot", "tables", len(rc.rows), "rows", sum(rc.rows), "took", rc.took)
		}
	})
}

func sum(rows map[string]int64) int64 {
	var n int64
	for _, v := range rows {
		n += v
	}
	return n
}

// TableRows is the exact number of rows of every table in the dump
// ("schema.table"), counted in the dump's own snapshot, and how long the
// counting took. It is known once the stream has been read to its end.
func (d *Dump) TableRows() (map[string]int64, time.Duration, error) {
	rc := d.counter
	if rc == nil {
		return nil, 0, errNotCounted
	}
	select {
	case <-rc.final:
		return rc.rows, rc.took, rc.err
	default:
		return nil, 0, errNotCounted
	}
}
