package dbstream

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
)

// customMagic starts every pg_dump custom-format archive.
const customMagic = "PGDMP"

// RestoreOptions configure Restore.
type RestoreOptions struct {
	// TargetDSN names the server and the database to restore into ("" means
	// the libpq environment). The database must not exist, or hold no
	// relations; the server's "postgres" database (or template1) is used to
	// create it.
	TargetDSN string
	// BinDir holds pg_restore and psql; empty searches as Options.BinDir.
	BinDir string
	// Owner, when set, owns everything restored: the database is created
	// with OWNER Owner and pg_restore runs with --no-owner --role=Owner, so
	// the connecting user must be allowed to SET ROLE to it. Custom format
	// only.
	Owner string
	// NoOwner restores objects owned by the connecting user rather than the
	// dump's owners (pg_restore --no-owner). Custom format only.
	NoOwner bool
	// NoPrivileges leaves out the dump's GRANTs and REVOKEs (pg_restore
	// --no-privileges), for a server that lacks the dump's roles. Custom
	// format only.
	NoPrivileges bool
	// Jobs > 1 restores with pg_restore --jobs. That needs a seekable file,
	// so the stream is first written to a temporary file (0600, removed
	// afterwards) in TempDir: plan for disk space the size of the dump.
	// Plain-format dumps always restore with one psql.
	Jobs int
	// TempDir for Jobs > 1; empty means os.TempDir().
	TempDir string
	// Encoding of a database Restore creates, usually DumpInfo.Encoding
	// recorded at dump time; empty takes template0's.
	Encoding string
	// Logger receives the restore program's stderr and progress; nil discards.
	Logger *slog.Logger
}

// Summary reports a finished restore. Row counts are exact (count(*) of
// every table after the restore): a full read of the restored data, cheap
// next to writing it, and the figure a user compares with the source.
type Summary struct {
	Database  string
	Created   bool   // Restore created the database
	Format    Format // the format of the stream
	Bytes     int64  // bytes of dump read from the stream
	Tables    int    // tables that hold rows (plain tables and partitions)
	Rows      int64  // rows in all of them
	TableRows map[string]int64
}

// Restore creates the target database (or takes an existing empty one) and
// streams the dump r into it through pg_restore --exit-on-error (custom
// format) or psql with ON_ERROR_STOP (plain SQL), told apart by the stream's
// first bytes. It refuses, touching nothing, a database that holds
// relations. If the restore fails in a database Restore created, that
// database is dropped again; a database that existed before is left with a
// partial restore, which the error says. Restore waits for r's Read to
// return, so r should end when ctx is cancelled.
func Restore(ctx context.Context, opts RestoreOptions, r io.Reader) (Summary, error) {
	opts.Logger = orDiscard(opts.Logger)
	ep, err := targetEndpoint(opts.TargetDSN)
	if err != nil {
		return Summary{}, err
	}
	br := bufio.NewReaderSize(r, 64<<10)
	format, err := sniffFormat(br)
	if err != nil {
		return Summary{}, err
	}
	if err := checkRestoreOptions(opts, format); err != nil {
		return Summary{}, err
	}
	tool, err := newToolFinder(opts.BinDir).find(ctx, restoreTool(format))
	if err != nil {
		return Summary{}, err
	}
	t := &target{ep: ep, name: ep.database(), logger: opts.Logger}
	if err := t.prepare(ctx, opts); err != nil {
		return Summary{}, err
	}
	in := &countingReader{r: br}
	if err := runRestore(ctx, opts, format, tool, ep, in); err != nil {
		return Summary{}, t.failed(ctx, err)
	}
	sum, err := t.summarize(ctx)
	sum.Created, sum.Format, sum.Bytes = t.created, format, in.n
	return sum, err
}

// CheckTarget tells, changing nothing, whether Restore could start with
// opts: the target DSN names a database, the server answers, the database is
// missing or holds no relations, and the options suit a dump of format (""
// when not known). Restore checks all of this again.
func CheckTarget(ctx context.Context, opts RestoreOptions, format Format) error {
	opts.Logger = orDiscard(opts.Logger)
	ep, err := targetEndpoint(opts.TargetDSN)
	if err != nil {
		return err
	}
	quiet := opts
	quiet.Logger = orDiscard(nil) // Restore warns about ignored options
	if err := checkRestoreOptions(quiet, format); err != nil {
		return err
	}
	t := &target{ep: ep, name: ep.database(), logger: opts.Logger}
	return t.check(ctx, opts)
}

// targetEndpoint parses the target DSN, which must name a database.
func targetEndpoint(dsn string) (*endpoint, error) {
	ep, err := parseEndpoint(dsn)
	if err != nil {
		return nil, err
	}
	if ep.database() == "" {
		return nil, errors.New("the target DSN names no database: add one " +
			"(postgres://USER@HOST/DATABASE or dbname=DATABASE)")
	}
	return ep, nil
}

// sniffFormat tells a custom archive from a plain SQL script.
func sniffFormat(br *bufio.Reader) (Format, error) {
	head, err := br.Peek(len(customMagic))
	switch {
	case bytes.Equal(head, []byte(customMagic)):
		return FormatCustom, nil
	case len(head) == 0 && errors.Is(err, io.EOF):
		return "", errors.New("the dump stream is empty: nothing to restore")
	case len(head) == 0 && err != nil:
		return "", fmt.Errorf("reading the dump stream: %w", err)
	}
	return FormatPlain, nil
}

// restoreTool is the program that restores format.
func restoreTool(format Format) string {
	if format == FormatCustom {
		return "pg_restore"
	}
	return "psql"
}

// checkRestoreOptions rejects options the dump's format cannot honour.
func checkRestoreOptions(opts RestoreOptions, format Format) error {
	if opts.Jobs < 0 {
		return fmt.Errorf("restore jobs must be 1 or more, not %d", opts.Jobs)
	}
	if format == FormatPlain && (opts.Owner != "" || opts.NoOwner || opts.NoPrivileges) {
		return errors.New("this dump is plain SQL, which restores with its own owners and privileges: " +
			"owner, no-owner and no-privileges options need a custom-format dump")
	}
	if format == FormatPlain && opts.Jobs > 1 {
		opts.Logger.Warn("plain SQL dumps restore with a single psql; ignoring jobs", "jobs", opts.Jobs)
	}
	return nil
}

// runRestore feeds in to pg_restore or psql, through a temporary file when
// pg_restore runs parallel jobs.
func runRestore(ctx context.Context, opts RestoreOptions, format Format, tool string, ep *endpoint, in *countingReader) error {
	spec := childSpec{path: tool, env: ep.childEnv("bbvault-restore"), logger: opts.Logger}
	if format == FormatPlain {
		spec.args = psqlArgs(ep.childDBArg())
		spec.stdin = in
		return runChild(ctx, spec, in)
	}
	spec.args = pgRestoreArgs(opts, ep.childDBArg())
	if opts.Jobs <= 1 {
		spec.stdin = in
		return runChild(ctx, spec, in)
	}
	path, cleanup, err := stageDump(ctx, in, opts.TempDir, opts.Logger)
	if err != nil {
		return err
	}
	defer cleanup()
	spec.args = append(spec.args, "--jobs="+strconv.Itoa(opts.Jobs), path)
	return runChild(ctx, spec, in)
}

// pgRestoreArgs is pg_restore's command line, reading stdin unless a file
// is appended. It never holds the password: dbArg comes from
// endpoint.childDBArg.
func pgRestoreArgs(opts RestoreOptions, dbArg string) []string {
	args := []string{"--exit-on-error", "--no-password", dbArg}
	if opts.NoOwner || opts.Owner != "" {
		args = append(args, "--no-owner")
	}
	if opts.Owner != "" {
		args = append(args, "--role="+opts.Owner)
	}
	if opts.NoPrivileges {
		args = append(args, "--no-privileges")
	}
	return args
}

// psqlArgs is psql's command line for running a plain dump from stdin.
func psqlArgs(dbArg string) []string {
	return []string{"--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1", "--no-password", dbArg, "--file=-"}
}

// runChild runs spec to its end. A failure to read the dump stream is
// reported as such, ahead of the restore program's complaint about the
// input ending early.
func runChild(ctx context.Context, spec childSpec, in *countingReader) error {
	c, err := startChild(ctx, spec)
	if err != nil {
		return err
	}
	err = c.wait()
	if in.err != nil {
		return fmt.Errorf("reading the dump stream: %w (then %v)", in.err, err)
	}
	return err
}

// countingReader counts the bytes read and remembers the first read error
// other than io.EOF, which exec would otherwise hide behind the program's
// exit status, and whether the end was reached.
type countingReader struct {
	r   io.Reader
	n   int64
	err error
	eof bool
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	switch {
	case errors.Is(err, io.EOF):
		c.eof = true
	case err != nil && c.err == nil:
		c.err = err
	}
	return n, err
}
