package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"bbvault/internal/logs"
	"bbvault/internal/wait"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Log attribute keys.
const (
	logKeyPath  = "path"
	logKeyAside = "moved_to"
	logKeyErr   = "error"
	logKeyWhy   = "reason"
)

// Defaults for Options.
const (
	defaultMaxConns        = 4
	defaultLoadConcurrency = 4
	busyTimeoutMillis      = 10000
	readCacheKiB           = 2 << 10  // SQLite page cache of a connection that reads (SQLite's default)
	writeCacheKiB          = 16 << 10 // while it writes
)

// Options tune a DB. The zero value is ready to use.
type Options struct {
	// Logger receives the rare events worth a line: a cache rebuilt because
	// it belonged to another repository, a damaged file moved aside, a Sync
	// summary. Nil discards them.
	Logger *slog.Logger
	// MaxConns bounds the SQLite connection pool (default 4), each with up
	// to 16 MiB of page cache. Readers run in parallel; writers are
	// serialised whatever the value. A Packs callback holds one connection
	// while it runs, so keep this at 2 or more.
	MaxConns int
	// LoadConcurrency bounds how many index objects Sync loads at once
	// (default 4).
	LoadConcurrency int
}

// DB is an open cache file. It is safe for concurrent use.
type DB struct {
	sql      *sql.DB
	path     string
	log      *slog.Logger
	loadConc int

	// writeMu serialises this process's write transactions; SQLite allows
	// one writer per file anyway, and waiting here is cheaper than spinning
	// in SQLite's busy handler.
	writeMu sync.Mutex

	hasStmt    *sql.Stmt
	lookupStmt *sql.Stmt
}

// Open opens (creating directories and file as needed) the cache at path for
// the repository whose ID is repoID. A file that belongs to another
// repository or has an unknown schema version is emptied and rebuilt; a
// file SQLite cannot read as a database is renamed to
// "<path>.corrupt-<time>" (with its -wal and -shm files) and a fresh one is
// created in its place, with a warning in the log. Either way the caller gets
// a usable cache and should call Sync before trusting it.
//
// Keep one cache file per repository (a path containing the repository ID,
// say): two repositories sharing a file would wipe it on every Open.
func Open(ctx context.Context, path, repoID string, opts Options) (*DB, error) {
	if err := checkOpenArgs(path, repoID); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("index cache: create directory: %w", err)
	}
	d, err := open(ctx, path, repoID, opts)
	if err == nil || !isCorrupt(err) {
		return d, err
	}
	aside, mvErr := moveAside(path, time.Now())
	if mvErr != nil {
		return nil, fmt.Errorf("index cache %s is damaged (%w) and could not be moved aside: %w", path, err, mvErr)
	}
	opts.Logger.Warn("index cache is damaged; moved it aside and starting a new one",
		logKeyPath, path, logKeyAside, aside, logKeyErr, err)
	return open(ctx, path, repoID, opts)
}

func checkOpenArgs(path, repoID string) error {
	switch {
	case path == "":
		return errors.New("index cache: no file path given")
	case strings.ContainsRune(path, '?'):
		return fmt.Errorf("index cache: path %q contains '?', which SQLite would read as options; choose another cache directory", path)
	case repoID == "":
		return errors.New("index cache: repository ID is empty")
	}
	return nil
}

func (o Options) withDefaults() Options {
	o.Logger = logs.OrDiscard(o.Logger)
	if o.MaxConns < 2 {
		o.MaxConns = defaultMaxConns
	}
	if o.LoadConcurrency <= 0 {
		o.LoadConcurrency = defaultLoadConcurrency
	}
	return o
}

// dsn builds the modernc.org/sqlite data source name. Write transactions
// BEGIN IMMEDIATE (read-only ones stay deferred), so two writers queue on the
// busy timeout instead of failing on a lock upgrade. synchronous=NORMAL is
// enough for a cache: a power cut may lose the last transactions, never
// consistency. A 16 MiB page cache per connection (SQLite's default is
// 2 MiB) made ingesting 100,000 entries about a fifth cheaper, so a
// connection gets it for the length of a write transaction and readers keep
// SQLite's default (a scan of every blob, as loading the known set does,
// would otherwise leave 16 MiB on every connection); mmap was not
// used, as an I/O error would then kill the process (SIGBUS) instead of
// returning an error, and this process may be holding Bitbucket locked.
func dsn(path string) string {
	return path + fmt.Sprintf("?_pragma=busy_timeout(%d)", busyTimeoutMillis) +
		"&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)" +
		fmt.Sprintf("&_pragma=cache_size(-%d)", readCacheKiB) +
		"&_txlock=immediate"
}

func open(ctx context.Context, path, repoID string, opts Options) (*DB, error) {
	sdb, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		return nil, fmt.Errorf("index cache: open %s: %w", path, err)
	}
	sdb.SetMaxOpenConns(opts.MaxConns)
	sdb.SetMaxIdleConns(opts.MaxConns)
	d := &DB{sql: sdb, path: path, log: opts.Logger, loadConc: opts.LoadConcurrency}
	if err := d.init(ctx, repoID); err != nil {
		return nil, errors.Join(err, sdb.Close())
	}
	return d, nil
}

func (d *DB) init(ctx context.Context, repoID string) error {
	err := retryBusy(ctx, func() error {
		if err := d.ensureSchema(ctx, repoID); err != nil {
			return err
		}
		return d.ensureDamageTable(ctx)
	})
	if err != nil {
		return err
	}
	if d.hasStmt, err = d.sql.PrepareContext(ctx, sqlHas); err != nil {
		return wrapErr("prepare has", err)
	}
	if d.lookupStmt, err = d.sql.PrepareContext(ctx, sqlLookup); err != nil {
		return wrapErr("prepare lookup", err)
	}
	return nil
}

// Close releases the prepared statements and connections.
func (d *DB) Close() error {
	var errs []error
	for _, s := range []*sql.Stmt{d.hasStmt, d.lookupStmt} {
		if s != nil {
			errs = append(errs, s.Close())
		}
	}
	errs = append(errs, d.sql.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("index cache: close: %w", err)
	}
	return nil
}

// Path returns the cache file's path.
func (d *DB) Path() string { return d.path }

// moveAside renames a damaged cache file and its WAL and shared-memory
// files. The WAL must go too: replayed onto a fresh file it would bring the
// damage back.
func moveAside(path string, now time.Time) (string, error) {
	aside := path + ".corrupt-" + now.UTC().Format("20060102T150405.000000000Z")
	for _, suffix := range []string{"", "-wal", "-shm"} {
		err := os.Rename(path+suffix, aside+suffix)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
	}
	return aside, nil
}

// isCorrupt reports whether err is SQLite saying the file is not a database
// or is malformed.
func isCorrupt(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return errors.Is(err, ErrCorrupt)
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
		return true
	}
	return false
}

// retryBusy runs fn again while SQLite answers SQLITE_BUSY, for as long as
// the busy timeout. SQLite's own busy handler covers most contention, but
// SQLite skips it where waiting could deadlock, as when several processes
// open a new cache file at once while one of them turns it to WAL mode: the
// others then get SQLITE_BUSY at once (seen in the index's multi-process
// test under load). fn must be a whole transaction (or several).
func retryBusy(ctx context.Context, fn func() error) error {
	deadline := time.Now().Add(busyTimeoutMillis * time.Millisecond)
	for pause := 5 * time.Millisecond; ; pause = min(2*pause, 250*time.Millisecond) {
		err := fn()
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		if werr := wait.Sleep(ctx, wait.Jitter(pause)); werr != nil {
			return errors.Join(err, werr)
		}
	}
}

func isBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}

// wrapErr prefixes err with the operation and marks corruption with
// ErrCorrupt so callers can tell "rebuild the cache" from other failures.
func wrapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	if isCorrupt(err) && !errors.Is(err, ErrCorrupt) {
		return fmt.Errorf("index cache: %s: %w: %w", op, ErrCorrupt, err)
	}
	return fmt.Errorf("index cache: %s: %w", op, err)
}
