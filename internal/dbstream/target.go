package dbstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// dropTimeout bounds dropping a half-restored database, which runs even
// after the caller's context was cancelled.
const dropTimeout = 30 * time.Second

// encodingRE is what a PostgreSQL encoding name looks like (UTF8, LATIN1,
// EUC_JP, WIN1252).
var encodingRE = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

// target is the database a restore writes into.
type target struct {
	ep      *endpoint
	name    string
	logger  *slog.Logger
	created bool // Restore created it, so Restore may drop it
}

// maintenance connects to the server's maintenance database: postgres, or
// template1 where postgres was dropped.
func (t *target) maintenance(ctx context.Context) (*pgx.Conn, error) {
	conn, err := t.ep.connect(ctx, "postgres", "bbvault-restore")
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == sqlstateInvalidCatalog {
		conn, err = t.ep.connect(ctx, "template1", "bbvault-restore")
	}
	return conn, err
}

// prepare refuses a target that holds relations and creates a missing one.
func (t *target) prepare(ctx context.Context, opts RestoreOptions) error {
	return t.visit(ctx, opts, func(conn *pgx.Conn) error { return t.create(ctx, conn, opts) })
}

// check refuses a target that holds relations, changing nothing.
func (t *target) check(ctx context.Context, opts RestoreOptions) error {
	return t.visit(ctx, opts, func(*pgx.Conn) error { return nil })
}

// visit checks an existing target for relations, or calls missing with a
// connection to the maintenance database when the target does not exist.
func (t *target) visit(ctx context.Context, opts RestoreOptions, missing func(*pgx.Conn) error) error {
	if opts.Encoding != "" && !encodingRE.MatchString(opts.Encoding) {
		return fmt.Errorf("invalid database encoding %q: use a PostgreSQL encoding name such as UTF8", opts.Encoding)
	}
	conn, err := t.maintenance(ctx)
	if err != nil {
		return err
	}
	defer closeConn(conn)
	var exists bool
	err = conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", t.name).Scan(&exists)
	if err != nil {
		return fmt.Errorf("looking for database %q: %w", t.name, err)
	}
	if exists {
		return t.checkEmpty(ctx)
	}
	return missing(conn)
}

// checkEmpty refuses an existing database that holds any relation outside
// the system schemas (extension members aside).
func (t *target) checkEmpty(ctx context.Context) error {
	conn, err := t.ep.connect(ctx, t.name, "bbvault-restore")
	if err != nil {
		return err
	}
	defer closeConn(conn)
	var n int
	var example string
	err = conn.QueryRow(ctx, `
		SELECT count(*), coalesce(min(format('%I.%I', n.nspname, c.relname)), '')
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND `+userRelationFilter+`
		  AND NOT EXISTS (SELECT 1 FROM pg_depend d
		                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
		                    AND d.deptype = 'e')`).Scan(&n, &example)
	if err != nil {
		return fmt.Errorf("checking that database %q is empty: %w", t.name, err)
	}
	if n > 0 {
		return fmt.Errorf("database %q already exists and holds %d tables, views or sequences "+
			"(for example %s): restore never overwrites; restore into a new database name, "+
			"or drop this one first", t.name, n, example)
	}
	t.logger.Info("restoring into an existing empty database", "database", t.name)
	return nil
}

// create creates the target from template0, with the dump's encoding and
// the requested owner.
func (t *target) create(ctx context.Context, conn *pgx.Conn, opts RestoreOptions) error {
	sql := "CREATE DATABASE " + pgx.Identifier{t.name}.Sanitize() + " TEMPLATE template0"
	if opts.Encoding != "" {
		sql += " ENCODING '" + opts.Encoding + "'" // checked against encodingRE
	}
	if opts.Owner != "" {
		sql += " OWNER " + pgx.Identifier{opts.Owner}.Sanitize()
	}
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("creating database %q (%s): %w", t.name, t.ep.describe(t.name), err)
	}
	t.created = true
	t.logger.Info("created database", "database", t.name, "encoding", opts.Encoding, "owner", opts.Owner)
	return nil
}

// failed explains a failed restore, dropping the database if Restore
// created it.
func (t *target) failed(ctx context.Context, restoreErr error) error {
	if !t.created {
		return fmt.Errorf("restore into database %q failed; it now holds a partial restore: "+
			"drop it (or empty it) before retrying: %w", t.name, restoreErr)
	}
	if err := t.drop(ctx); err != nil {
		return fmt.Errorf("restore into database %q failed, and dropping the partial database "+
			"failed too (%v): drop it before retrying: %w", t.name, err, restoreErr)
	}
	return fmt.Errorf("restore into database %q failed; the database it had created was dropped again: %w",
		t.name, restoreErr)
}

// drop removes the database Restore created, even if ctx was cancelled.
func (t *target) drop(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), dropTimeout)
	defer cancel()
	conn, err := t.maintenance(ctx)
	if err != nil {
		return err
	}
	defer closeConn(conn)
	if _, err := conn.Exec(ctx, "DROP DATABASE "+pgx.Identifier{t.name}.Sanitize()); err != nil {
		return fmt.Errorf("dropping database %q: %w", t.name, err)
	}
	t.logger.Info("dropped the partially restored database", "database", t.name)
	return nil
}

// summarize analyzes the restored database and counts the rows of every
// table that holds rows.
func (t *target) summarize(ctx context.Context) (Summary, error) {
	sum := Summary{Database: t.name, TableRows: map[string]int64{}}
	conn, err := t.ep.connect(ctx, t.name, "bbvault-restore")
	if err != nil {
		return sum, fmt.Errorf("restore finished, but counting its rows failed: %w", err)
	}
	defer closeConn(conn)
	if err := t.analyze(ctx, conn); err != nil {
		return sum, fmt.Errorf("restore finished, but ANALYZE failed: %w", err)
	}
	counts, err := countRows(ctx, conn)
	if err != nil {
		return sum, fmt.Errorf("restore finished, but %w", err)
	}
	for table, n := range counts {
		sum.TableRows[table] = n
		sum.Rows += n
	}
	sum.Tables = len(counts)
	return sum, nil
}
