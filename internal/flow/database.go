package flow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"

	"bbvault/internal/dbstream"
)

// ErrDatabase wraps failures of the database dump.
var ErrDatabase = errors.New("database")

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
	d, err := p.Source.Start(ctx, dbstream.DumpOptions{Format: p.Format})
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
	return map[string]string{
		"kind": "postgresql", "database": in.Database, "encoding": in.Encoding,
		"collate": in.Collate, "ctype": in.CType, "server_version": in.Server.String(),
		"pg_dump_version": in.PgDump.String(), "format": string(in.Format),
		"size": strconv.FormatInt(d.Size(), 10),
	}
}
