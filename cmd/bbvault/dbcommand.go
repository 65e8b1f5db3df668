package main

import (
	"regexp"

	"github.com/spf13/pflag"

	"bbvault/internal/flow"
)

// registerDumpCommand adds the flags of a database dumped by the
// administrator's own command.
func registerDumpCommand(f *pflag.FlagSet, cmd, ready *string) {
	f.StringVar(cmd, "db-dump-cmd", "", "dump the database with this shell command instead of pg_dump: its standard output is stored (Oracle, SQL Server, a cloud export); credentials through its environment or files, never in the command")
	f.StringVar(ready, "db-dump-ready", "", "regular expression matching the line the dump command writes on stderr once it no longer needs Bitbucket locked; without it the lock is held until the command ends")
}

// registerRestoreCommand adds the flag of a database restored by the
// administrator's own command.
func registerRestoreCommand(f *pflag.FlagSet, cmd *string) {
	f.StringVar(cmd, "db-restore-cmd", "", "restore the database with this shell command, fed the dump on its standard input (for dumps made with --db-dump-cmd)")
}

// commandSource is the database of --db-dump-cmd.
func (d *databaseFlags) commandSource(g *globals) (flow.Database, error) {
	switch {
	case d.dumpCmd == "":
		return nil, usagef("--db-dump-ready needs --db-dump-cmd")
	case d.dsn != "":
		return nil, usagef("--db and --db-dump-cmd exclude each other: pg_dump dumps --db; give one of them")
	}
	db := &flow.CommandDatabase{Command: d.dumpCmd, Logger: g.log}
	if d.ready != "" {
		re, err := regexp.Compile(d.ready)
		if err != nil {
			return nil, usagef("--db-dump-ready %q is not a regular expression: %v", d.ready, err)
		}
		db.Ready = re
	}
	return db, nil
}

// validateCommand refuses --db-restore-cmd beside --db-target.
func (d *dbRestoreFlags) validateCommand() error {
	if d.command != "" && d.target != "" {
		return usagef("--db-target and --db-restore-cmd exclude each other: give one of them")
	}
	return nil
}
