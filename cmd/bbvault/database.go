package main

import (
	"errors"

	"github.com/spf13/pflag"

	"bbvault/internal/bitbucket"
	"bbvault/internal/dbstream"
	"bbvault/internal/flow"
)

// databaseFlags configure the database side of a snapshot.
type databaseFlags struct {
	dsn     string
	pgBin   string
	format  string
	dumpCmd string
	ready   string
}

func (d *databaseFlags) register(f *pflag.FlagSet) {
	f.StringVar(&d.dsn, "db", "", "PostgreSQL connection string of Bitbucket's database (or the PGHOST/PGUSER/PGPASSWORD/PGDATABASE/PGPASSFILE environment; put the password in PGPASSWORD or PGPASSFILE, not the DSN)")
	f.StringVar(&d.pgBin, "pg-bin", "", "directory holding pg_dump/pg_restore of the server's major version or newer")
	f.StringVar(&d.format, "db-format", "custom", "dump format: custom (pg_dump -Fc -Z0) or plain SQL")
	registerDumpCommand(f, &d.dumpCmd, &d.ready)
}

// source returns the database, or nil when neither --db, --db-dump-cmd nor
// PGDATABASE is given.
func (d *databaseFlags) source(g *globals) (flow.Database, error) {
	if d.dumpCmd != "" || d.ready != "" {
		return d.commandSource(g)
	}
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
	command string
}

func (d *dbRestoreFlags) register(f *pflag.FlagSet) {
	f.StringVar(&d.target, "db-target", "", "restore the database into this new database (connection string; it must not exist or hold no tables)")
	f.StringVar(&d.owner, "db-owner", "", "role that owns everything restored (the new server's Bitbucket role)")
	f.BoolVar(&d.noOwner, "no-owner", false, "do not restore the dump's object owners")
	f.IntVar(&d.jobs, "db-jobs", 1, "parallel pg_restore jobs; above 1 the dump is first staged in a temporary file (pg_restore -j needs a seekable file)")
	f.StringVar(&d.pgBin, "pg-bin", "", "directory holding pg_restore/psql")
	registerRestoreCommand(f, &d.command)
}

// databaseTarget returns the database to restore into, or nil without
// --db-target.
func (d *dbRestoreFlags) databaseTarget(g *globals) flow.DatabaseTarget {
	if d.command != "" {
		return &flow.CommandTarget{Command: d.command, Logger: g.log}
	}
	if d.target == "" {
		return nil
	}
	return &flow.PostgresTarget{Options: dbstream.RestoreOptions{TargetDSN: d.target, BinDir: d.pgBin,
		Owner: d.owner, NoOwner: d.noOwner, Jobs: d.jobs, Logger: g.log}}
}

// classifyFlowError gives the flow's failures their codes: lock flow,
// database, damaged data.
func classifyFlowError(err error) error {
	switch {
	case errors.Is(err, flow.ErrDamaged):
		return withCode(exitIntegrity, err)
	case errors.Is(err, flow.ErrStillLocked):
		return withCode(exitStillLocked, err)
	case errors.Is(err, flow.ErrBitbucket), errors.Is(err, bitbucket.ErrDrainTimeout):
		return withCode(exitBitbucket, err)
	case errors.Is(err, flow.ErrDatabase):
		return withCode(exitDatabase, err)
	case errors.Is(err, flow.ErrMeshUncovered):
		return withCode(exitUsage, err)
	}
	return err
}
