package flow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strconv"

	"bbvault/internal/dbstream"
	"bbvault/internal/redact"
)

// KindCommand is the "kind" a command's dump records in its Meta.
const KindCommand = "command"

// CommandDatabase implements Database with the administrator's own dump
// command (Oracle Data Pump or exp to a pipe, sqlcmd or bcp for SQL Server,
// a cloud export): its standard output is the dump. Without Ready the dump
// holds the lock until its end: Dump.Ready returns once the command exited
// successfully, after it wrote its whole output.
type CommandDatabase struct {
	Command string         // run with /bin/sh -c; no secrets in it
	Ready   *regexp.Regexp // the stderr line after which the lock may go; nil: at the end
	Env     []string       // the command's environment; nil: bbvault's without its secrets
	Logger  *slog.Logger
}

// dumpFlag names the dump command in errors and logs.
const dumpFlag = "--db-dump-cmd"

// Check checks that the command's program exists; it runs nothing.
func (c *CommandDatabase) Check(context.Context) error {
	if err := dbstream.CheckCommand(dumpFlag, c.Command); err != nil {
		return fmt.Errorf("%w: %w", ErrDatabase, err)
	}
	if c.Ready == nil {
		c.logger().Warn("no --db-dump-ready pattern: Bitbucket stays locked until the dump command ends")
	}
	return nil
}

func (c *CommandDatabase) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}

// Start starts the command.
func (c *CommandDatabase) Start(ctx context.Context) (Dump, error) {
	d, err := dbstream.StartDump(ctx, dbstream.CommandOptions{Name: dumpFlag, Command: c.Command,
		Env: c.Env, Ready: c.Ready, Logger: c.logger()})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDatabase, err)
	}
	return &cmdDump{CommandDump: d, db: c}, nil
}

// cmdDump adapts *dbstream.CommandDump to Dump.
type cmdDump struct {
	*dbstream.CommandDump
	db *CommandDatabase
}

func (d *cmdDump) Read(p []byte) (int, error) {
	n, err := d.CommandDump.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = fmt.Errorf("%w: %w", ErrDatabase, err)
	}
	return n, err
}

func (d *cmdDump) Ready(ctx context.Context) error {
	if err := d.CommandDump.Ready(ctx); err != nil {
		return fmt.Errorf("%w: %w", ErrDatabase, err)
	}
	return nil
}

func (d *cmdDump) Close() error {
	if err := d.CommandDump.Close(); err != nil {
		return fmt.Errorf("%w: %w", ErrDatabase, err)
	}
	return nil
}

// Meta records the command (what looks like a credential masked) and
// whether it released the lock early.
func (d *cmdDump) Meta() map[string]string {
	m := map[string]string{"kind": KindCommand, "format": KindCommand,
		"command": redact.Credentials(d.db.Command), "size": strconv.FormatInt(d.Size(), 10)}
	if d.db.Ready != nil {
		m["ready_pattern"] = d.db.Ready.String()
	}
	return m
}

// CommandTarget implements DatabaseTarget with the administrator's own
// restore command, fed the dump on its standard input. It gets the dump's
// description in its environment: BBVAULT_DUMP_KIND ("command" or
// "postgresql"), BBVAULT_DUMP_FORMAT and BBVAULT_DUMP_SIZE.
type CommandTarget struct {
	Command string   // run with /bin/sh -c; no secrets in it
	Env     []string // the command's environment; nil: bbvault's without its secrets
	Logger  *slog.Logger
}

// restoreFlag names the restore command in errors and logs.
const restoreFlag = "--db-restore-cmd"

// Check checks that the command's program exists; it runs nothing and
// cannot know whether the database behind it is empty: that is the
// command's to refuse.
func (c *CommandTarget) Check(context.Context, map[string]string) error {
	return dbstream.CheckCommand(restoreFlag, c.Command)
}

// Restore runs the command with the dump on its standard input. The summary
// has the bytes fed; tables and rows are the command's business.
func (c *CommandTarget) Restore(ctx context.Context, r io.Reader, dump map[string]string) (DatabaseSummary, error) {
	env := c.Env
	if env == nil {
		env = dbstream.CommandEnv(nil)
	}
	env = append(env[:len(env):len(env)], "BBVAULT_DUMP_KIND="+dump["kind"],
		"BBVAULT_DUMP_FORMAT="+dump["format"], "BBVAULT_DUMP_SIZE="+dump["size"])
	n, err := dbstream.RunRestore(ctx, dbstream.CommandOptions{Name: restoreFlag, Command: c.Command,
		Env: env, Logger: c.Logger}, r)
	return DatabaseSummary{Database: restoreFlag, Bytes: n}, err
}
