package dbstream

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// Format is the format of a dump stream.
type Format string

const (
	// FormatCustom is pg_dump's custom archive, uncompressed (-Fc -Z0),
	// restored with pg_restore. The default.
	FormatCustom Format = "custom"
	// FormatPlain is a plain SQL script, restored with psql.
	FormatPlain Format = "plain"
)

// DumpOptions tune one dump.
type DumpOptions struct {
	// Format of the stream; empty means FormatCustom. Both are uncompressed,
	// so the stream deduplicates well.
	Format Format
	// LockWaitTimeout, when positive, makes pg_dump fail instead of waiting
	// longer than this for a table lock (pg_dump --lock-wait-timeout).
	LockWaitTimeout time.Duration
	// SchemaGuard records a fingerprint of the catalog in the exporting
	// transaction, for CheckSchema. The query runs while pg_dump starts and
	// after Start returned, so it does not make Start slower.
	SchemaGuard bool
}

// DumpInfo describes a running dump.
type DumpInfo struct {
	ServerInfo
	Format   Format
	Snapshot string // the exported snapshot pg_dump reads from
	AppName  string // pg_dump's application_name, unique per dump
	Host     string // the server as the DSN names it (the first of several)
	Port     uint16
}

// Dump is a running pg_dump whose standard output is read through Read.
// Read is for one goroutine; Ready, Info, Size and Close may be called from
// others.
type Dump struct {
	ep     *endpoint
	logger *slog.Logger
	info   DumpInfo
	tables []uint32 // OIDs of the tables pg_dump will lock, as the snapshot sees them

	conn       *pgx.Conn // holds the exporting transaction until pg_dump ends
	tx         pgx.Tx
	exportOnce sync.Once
	proc       *child
	out        *os.File // read end of pg_dump's stdout

	size    atomic.Int64
	readErr error // sticky; only Read touches it

	exported time.Time // when pg_export_snapshot returned
	// snapshotCatalog is the catalog as the snapshot sees it (SchemaGuard),
	// read on conn by a goroutine that closes catalogDone when it is done;
	// endExport waits for it before it ends the transaction.
	catalogDone     chan struct{}
	snapshotCatalog catalogPrint
	catalogErr      error

	mu      sync.Mutex
	ready   bool
	readyAt time.Time
	readyCh chan struct{} // closed once ready
	counter *rowCounter

	closeOnce sync.Once
	closeErr  error
}

// Start exports a snapshot of the database and starts pg_dump on it. ctx
// bounds the whole dump: cancelling it kills pg_dump. The caller must Close
// the Dump.
func (s *Source) Start(ctx context.Context, opts DumpOptions) (*Dump, error) {
	if opts.Format == "" {
		opts.Format = FormatCustom
	}
	if opts.Format != FormatCustom && opts.Format != FormatPlain {
		return nil, fmt.Errorf("unknown dump format %q: use %q or %q", opts.Format, FormatCustom, FormatPlain)
	}
	conn, err := s.ep.connect(ctx, "", "bbvault-snapshot")
	if err != nil {
		return nil, err
	}
	d := &Dump{ep: s.ep, logger: s.logger, conn: conn, readyCh: make(chan struct{})}
	if err := s.export(ctx, d, opts); err != nil {
		d.endExport()
		return nil, err
	}
	if err := d.startPgDump(ctx, opts); err != nil {
		d.endExport()
		return nil, err
	}
	d.startCounting(ctx)
	s.logger.Info("pg_dump started", "database", d.info.Database, "server", d.info.Server.String(),
		"snapshot", d.info.Snapshot, "format", string(d.info.Format), "tables", len(d.tables))
	return d, nil
}

// export opens the REPEATABLE READ transaction, checks pg_dump against the
// server, exports the snapshot and lists the tables pg_dump will lock.
func (s *Source) export(ctx context.Context, d *Dump, opts DumpOptions) error {
	tx, err := d.conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("starting the snapshot transaction: %w", err)
	}
	d.tx = tx
	info, err := readServerInfo(ctx, tx)
	if err != nil {
		return err
	}
	if err := s.checkPgDump(ctx, &info); err != nil {
		return err
	}
	d.info = DumpInfo{ServerInfo: info, Format: opts.Format, AppName: "bbvault-dump-" + rand.Text()[:16],
		Host: s.ep.cfg.Host, Port: s.ep.cfg.Port}
	if err := tx.QueryRow(ctx, "SELECT pg_export_snapshot()").Scan(&d.info.Snapshot); err != nil {
		return fmt.Errorf("exporting the snapshot: %w", err)
	}
	d.exported = time.Now()
	if d.tables, err = lockTargets(ctx, tx); err != nil || !opts.SchemaGuard {
		return err
	}
	d.catalogDone = make(chan struct{})
	go func() {
		defer close(d.catalogDone)
		d.snapshotCatalog, d.catalogErr = readFingerprint(ctx, tx)
	}()
	return nil
}

// startPgDump starts pg_dump with its stdout on a pipe the Dump reads.
func (d *Dump) startPgDump(ctx context.Context, opts DumpOptions) error {
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("creating the pg_dump pipe: %w", err)
	}
	if err := growPipe(w); err != nil {
		d.logger.Debug("keeping the default pipe size for pg_dump", "err", err)
	}
	spec := childSpec{
		path:   d.info.PgDumpPath,
		args:   dumpArgs(d.info.Snapshot, opts, d.ep.childDBArg()),
		env:    d.ep.childEnv(d.info.AppName),
		stdout: w,
		logger: d.logger,
	}
	d.proc, err = startChild(ctx, spec)
	w.Close() // pg_dump holds its own copy; EOF comes when it exits
	if err != nil {
		r.Close()
		return err
	}
	d.out = r
	return nil
}

// dumpArgs is pg_dump's command line. It never holds the password: dbArg
// comes from endpoint.childDBArg.
func dumpArgs(snapshot string, opts DumpOptions, dbArg string) []string {
	args := []string{"--snapshot=" + snapshot, "--no-password"}
	if opts.Format == FormatPlain {
		args = append(args, "--format=plain")
	} else {
		args = append(args, "--format=custom", "--compress=0")
	}
	if opts.LockWaitTimeout > 0 {
		args = append(args, "--lock-wait-timeout="+strconv.FormatInt(opts.LockWaitTimeout.Milliseconds(), 10))
	}
	return append(args, dbArg)
}

// Read reads pg_dump's output. At the end it waits for pg_dump, ends the
// exporting transaction, and returns io.EOF only if pg_dump succeeded;
// otherwise a *ToolError with pg_dump's message. Errors are sticky.
func (d *Dump) Read(p []byte) (int, error) {
	if d.readErr != nil {
		return 0, d.readErr
	}
	n, err := d.out.Read(p)
	d.size.Add(int64(n))
	switch {
	case errors.Is(err, io.EOF):
		err = d.proc.wait()
		d.stopCounting(err == nil)
		d.endExport() // pg_dump and the counting are done with the snapshot
		if err == nil {
			err = io.EOF
			d.logger.Info("pg_dump finished", "bytes", d.size.Load())
		}
	case err != nil:
		err = fmt.Errorf("reading pg_dump output: %w", err)
	}
	if err != nil {
		d.readErr = err
	}
	return n, err
}

// Close ends the dump. Before the end of the stream it kills pg_dump and
// its process group and reaps it. It always ends the exporting transaction
// and closes its connection (if the end of the stream has not already). It
// returns pg_dump's error if
// pg_dump failed on its own (not when Close killed it).
func (d *Dump) Close() error {
	d.closeOnce.Do(func() {
		if d.proc.stop() {
			d.logger.Info("pg_dump stopped before the end of its output", "bytes", d.size.Load())
		} else {
			d.closeErr = d.proc.err
		}
		d.out.Close()
		d.stopCounting(false) // a no-op after the end of the stream
		d.endExport()
	})
	return d.closeErr
}

// endExport rolls back the exporting transaction and closes its connection,
// once: at the end of the stream or at Close, whichever comes first. The
// transaction is kept while pg_dump runs so the snapshot outlives it; it
// holds back vacuum no more than pg_dump's own transaction does.
func (d *Dump) endExport() {
	d.exportOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		if d.catalogDone != nil {
			<-d.catalogDone // the fingerprint reads through the transaction
		}
		if d.tx != nil {
			_ = d.tx.Rollback(ctx) // a read-only transaction: nothing to lose
		}
		closeConn(d.conn)
	})
}

// Exported is when the snapshot was exported, in Start.
func (d *Dump) Exported() time.Time { return d.exported }

// ReadyAt is when Ready saw pg_dump holding its locks; zero before.
func (d *Dump) ReadyAt() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.readyAt
}

// Info describes the dump: server, database, encoding, format, snapshot.
func (d *Dump) Info() DumpInfo { return d.info }

// Size is the number of bytes read from the stream so far.
func (d *Dump) Size() int64 { return d.size.Load() }
