package flow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"

	"bbvault/internal/dbstream"
	"bbvault/internal/repo"
)

// ErrDatabase wraps failures of the database dump or restore.
var ErrDatabase = errors.New("database")

// DatabaseStream is the name of the database dump among a manifest's streams.
const DatabaseStream = "database"

// DatabaseOf returns the database dump of m, or nil when it has none.
func DatabaseOf(m *repo.Manifest) *repo.Stream {
	for i := range m.Streams {
		if m.Streams[i].Name == DatabaseStream {
			return &m.Streams[i]
		}
	}
	return nil
}

// PostgresDatabase implements Database with pg_dump.
type PostgresDatabase struct {
	Source *dbstream.Source
	Format dbstream.Format
	Logger *slog.Logger
	info   dbstream.ServerInfo
}

// Check connects and checks pg_dump's version against the server's.
func (p *PostgresDatabase) Check(ctx context.Context) error {
	info, err := p.Source.Check(ctx)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrDatabase, err)
	}
	p.info = info
	p.Logger.Info("database found", "database", info.Database, "server", info.Server.String(), "pg_dump", info.PgDump.String())
	return nil
}

// Start exports a snapshot and starts pg_dump on it.
func (p *PostgresDatabase) Start(ctx context.Context) (Dump, error) {
	d, err := p.start(ctx, false)
	if err != nil {
		return nil, err
	}
	return d, nil
}

// StartGuarded is Start, also recording the catalog as the snapshot sees it
// for CheckSchema.
func (p *PostgresDatabase) StartGuarded(ctx context.Context) (GuardedDump, error) {
	d, err := p.start(ctx, true)
	if err != nil {
		return nil, err
	}
	return d, nil
}

func (p *PostgresDatabase) start(ctx context.Context, guard bool) (*pgDump, error) {
	d, err := p.Source.Start(ctx, dbstream.DumpOptions{Format: p.Format, SchemaGuard: guard})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDatabase, err)
	}
	return &pgDump{d}, nil
}

// pgDump adapts *dbstream.Dump to Dump.
type pgDump struct{ *dbstream.Dump }

func (d *pgDump) Read(p []byte) (int, error) {
	n, err := d.Dump.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = fmt.Errorf("%w: %w", ErrDatabase, err)
	}
	return n, err
}

func (d *pgDump) Close() error {
	if err := d.Dump.Close(); err != nil {
		return fmt.Errorf("%w: %w", ErrDatabase, err)
	}
	return nil
}

func (d *pgDump) Meta() map[string]string {
	in := d.Info()
	meta := map[string]string{
		"kind": "postgresql", "database": in.Database, "encoding": in.Encoding,
		"collate": in.Collate, "ctype": in.CType, "server_version": in.Server.String(),
		"pg_dump_version": in.PgDump.String(), "format": string(in.Format),
		"size": strconv.FormatInt(d.Size(), 10),
		"host": in.Host, "port": strconv.Itoa(int(in.Port)),
	}
	if rows, took, err := d.TableRows(); err == nil {
		putRowCounts(meta, rows, took)
	}
	return meta
}

// PostgresTarget implements DatabaseTarget with pg_restore (psql for a plain
// SQL dump) into a new or empty database.
type PostgresTarget struct {
	// Options name the target and how to restore; an empty Encoding takes
	// the one recorded with the dump.
	Options dbstream.RestoreOptions
}

// options completes the options with what the snapshot recorded of the dump.
func (p *PostgresTarget) options(dump map[string]string) dbstream.RestoreOptions {
	o := p.Options
	if o.Encoding == "" {
		o.Encoding = dump["encoding"]
	}
	return o
}

// Check checks the target and the options against the dump's format.
func (p *PostgresTarget) Check(ctx context.Context, dump map[string]string) error {
	if dump["kind"] == KindCommand {
		return errors.New("this snapshot's database was dumped by a command (--db-dump-cmd), " +
			"not pg_dump: restore it with --db-restore-cmd")
	}
	return dbstream.CheckTarget(ctx, p.options(dump), dbstream.Format(dump["format"]))
}

// Restore streams the dump into the target and counts the restored rows.
func (p *PostgresTarget) Restore(ctx context.Context, r io.Reader, dump map[string]string) (DatabaseSummary, error) {
	sum, err := dbstream.Restore(ctx, p.options(dump), r)
	return DatabaseSummary{Database: sum.Database, Tables: sum.Tables, Rows: sum.Rows,
		Bytes: sum.Bytes, TableRows: sum.TableRows}, err
}
