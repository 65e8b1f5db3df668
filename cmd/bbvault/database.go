package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/pflag"

	"bbvault/internal/bitbucket"
	"bbvault/internal/dbstream"
	"bbvault/internal/flow"
	"bbvault/internal/progress"
	"bbvault/internal/repo"
)

// databaseFlags configure the database side of a snapshot.
type databaseFlags struct {
	dsn    string
	pgBin  string
	format string
}

func (d *databaseFlags) register(f *pflag.FlagSet) {
	f.StringVar(&d.dsn, "db", "", "PostgreSQL connection string of Bitbucket's database (or the PGHOST/PGUSER/PGPASSWORD/PGDATABASE/PGPASSFILE environment; put the password in PGPASSWORD or PGPASSFILE, not the DSN)")
	f.StringVar(&d.pgBin, "pg-bin", "", "directory holding pg_dump/pg_restore of the server's major version or newer")
	f.StringVar(&d.format, "db-format", "custom", "dump format: custom (pg_dump -Fc -Z0) or plain SQL")
}

// source returns the database, or nil when neither --db nor PGDATABASE is given.
func (d *databaseFlags) source(g *globals) (flow.Database, error) {
	if d.dsn == "" && g.getenv("PGDATABASE") == "" {
		return nil, nil
	}
	f := dbstream.Format(d.format)
	if f != dbstream.FormatCustom && f != dbstream.FormatPlain {
		return nil, usagef("--db-format %q: use custom or plain", d.format)
	}
	src, err := dbstream.NewSource(dbstream.Options{DSN: d.dsn, BinDir: d.pgBin, Logger: g.log})
	if err != nil {
		return nil, usagef("--db: %v", err)
	}
	return &flow.PostgresDatabase{Source: src, Format: f, Logger: g.log}, nil
}

// dbRestoreFlags configure the database side of a restore.
type dbRestoreFlags struct {
	target  string
	owner   string
	noOwner bool
	jobs    int
	pgBin   string
}

func (d *dbRestoreFlags) register(f *pflag.FlagSet) {
	f.StringVar(&d.target, "db-target", "", "restore the database into this new database (connection string; it must not exist or hold no tables)")
	f.StringVar(&d.owner, "db-owner", "", "role that owns everything restored (the new server's Bitbucket role)")
	f.BoolVar(&d.noOwner, "no-owner", false, "do not restore the dump's object owners")
	f.IntVar(&d.jobs, "db-jobs", 1, "parallel pg_restore jobs; above 1 the dump is first staged in a temporary file (pg_restore -j needs a seekable file)")
	f.StringVar(&d.pgBin, "pg-bin", "", "directory holding pg_restore/psql")
}

// restoreDatabase streams the snapshot's dump into a new database.
func restoreDatabase(ctx context.Context, g *globals, r *repo.Repository, m *repo.Manifest, d dbRestoreFlags, out map[string]any) error {
	s := databaseStream(m)
	if s == nil {
		return fmt.Errorf("snapshot %s holds no database dump", m.ShortID())
	}
	sr := r.NewStreamReader(ctx, s.Blobs)
	defer sr.Close()
	sum, err := dbstream.Restore(ctx, dbstream.RestoreOptions{TargetDSN: d.target, BinDir: d.pgBin,
		Owner: d.owner, NoOwner: d.noOwner, Jobs: d.jobs, Encoding: s.Meta["encoding"], Logger: g.log}, sr)
	if err != nil {
		if errors.Is(err, repo.ErrCorruptBlob) {
			return withCode(exitIntegrity, err)
		}
		return withCode(exitDatabase, fmt.Errorf("database restore: %w", err))
	}
	out["database"] = map[string]any{"name": sum.Database, "tables": sum.Tables, "rows": sum.Rows, "bytes": sum.Bytes}
	g.printf("database: %s restored, %d tables, %d rows, %s of dump\n", sum.Database, sum.Tables, sum.Rows, progress.Bytes(sum.Bytes))
	return nil
}

func databaseStream(m *repo.Manifest) *repo.Stream {
	for i := range m.Streams {
		if m.Streams[i].Name == "database" {
			return &m.Streams[i]
		}
	}
	return nil
}

// classifySnapshotError gives lock-flow and database failures their codes.
func classifySnapshotError(err error) error {
	switch {
	case errors.Is(err, flow.ErrStillLocked):
		return withCode(exitStillLocked, err)
	case errors.Is(err, flow.ErrBitbucket), errors.Is(err, bitbucket.ErrDrainTimeout):
		return withCode(exitBitbucket, err)
	case errors.Is(err, flow.ErrDatabase):
		return withCode(exitDatabase, err)
	}
	return err
}
