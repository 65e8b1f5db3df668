package dbstream

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Options configure a Source.
type Options struct {
	// DSN is a pgx/libpq connection string (URI or keyword=value). Empty means
	// the libpq environment alone: PGHOST, PGPORT, PGUSER, PGPASSWORD,
	// PGDATABASE, PGPASSFILE.
	DSN string
	// BinDir is the directory holding pg_dump (the --pg-bin flag). Empty
	// searches PATH, then `pg_config --bindir`, then the newest
	// /usr/lib/postgresql/*/bin.
	BinDir string
	// Logger receives pg_dump's stderr and progress; nil discards.
	Logger *slog.Logger
}

// ServerInfo describes the database being dumped and the pg_dump used.
type ServerInfo struct {
	Server     Version // the server's version
	Database   string  // the database name
	Encoding   string  // its encoding, e.g. "UTF8"
	Collate    string  // its LC_COLLATE
	CType      string  // its LC_CTYPE
	PgDump     Version // the pg_dump that will run
	PgDumpPath string  // where that pg_dump is
}

// Source is the PostgreSQL database of a Bitbucket instance, ready to be
// checked and dumped. It holds no connection between calls.
type Source struct {
	ep     *endpoint
	tools  toolFinder
	logger *slog.Logger

	mu     sync.Mutex
	pgDump *foundTool // found by the first check; Start, under the lock, does not look again
}

// foundTool is a client program and its version.
type foundTool struct {
	path    string
	version Version
}

// NewSource parses opts. It does no I/O: Check connects.
func NewSource(opts Options) (*Source, error) {
	ep, err := parseEndpoint(opts.DSN)
	if err != nil {
		return nil, err
	}
	return &Source{ep: ep, tools: newToolFinder(opts.BinDir), logger: orDiscard(opts.Logger)}, nil
}

// orDiscard returns l, or a logger that drops everything when l is nil.
func orDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// Check connects to the database, reads its version, name and encoding, and
// verifies that pg_dump's major version is at least the server's.
func (s *Source) Check(ctx context.Context) (ServerInfo, error) {
	conn, err := s.ep.connect(ctx, "", "bbvault-check")
	if err != nil {
		return ServerInfo{}, err
	}
	defer closeConn(conn)
	info, err := readServerInfo(ctx, conn)
	if err != nil {
		return ServerInfo{}, err
	}
	if err := s.checkPgDump(ctx, &info); err != nil {
		return info, err
	}
	return info, nil
}

// checkPgDump finds pg_dump, records its version in info and refuses one
// older than the server, which pg_dump itself would abort on.
func (s *Source) checkPgDump(ctx context.Context, info *ServerInfo) error {
	pd, err := s.findPgDump(ctx)
	if err != nil {
		return err
	}
	v, path := pd.version, pd.path
	info.PgDump, info.PgDumpPath = v, path
	if v.majorKey() < info.Server.majorKey() {
		return fmt.Errorf("pg_dump %s (%s) is older than the PostgreSQL %s server: "+
			"pg_dump must be of major version %s or newer; install it and point --pg-bin at its "+
			"bin directory (e.g. %s/%s/bin)", v, path, info.Server, info.Server.Major(),
			debianPostgresRoot, info.Server.Major())
	}
	return nil
}

// findPgDump finds pg_dump and runs it for its version, once per Source:
// Start runs under Bitbucket's lock, where a process start (~5 ms) counts.
func (s *Source) findPgDump(ctx context.Context) (foundTool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pgDump != nil {
		return *s.pgDump, nil
	}
	path, err := s.tools.find(ctx, "pg_dump")
	if err != nil {
		return foundTool{}, err
	}
	v, err := toolVersion(ctx, path)
	if err != nil {
		return foundTool{}, err
	}
	s.pgDump = &foundTool{path: path, version: v}
	return *s.pgDump, nil
}

// queryRower is what readServerInfo needs: a connection or a transaction.
type queryRower interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// readServerInfo reads the server version and the current database's name,
// encoding and locale.
func readServerInfo(ctx context.Context, q queryRower) (ServerInfo, error) {
	var info ServerInfo
	var version int
	err := q.QueryRow(ctx, `
		SELECT current_setting('server_version_num')::int, d.datname,
		       pg_encoding_to_char(d.encoding), d.datcollate, d.datctype
		FROM pg_database d WHERE d.datname = current_database()`).
		Scan(&version, &info.Database, &info.Encoding, &info.Collate, &info.CType)
	if err != nil {
		return ServerInfo{}, fmt.Errorf("reading server version and database encoding: %w", err)
	}
	info.Server = Version(version)
	return info, nil
}

// closeTimeout bounds the clean-up of a connection, which runs even after
// the caller's context was cancelled.
const closeTimeout = 5 * time.Second

// closeConn closes conn, giving the server closeTimeout to hear about it.
func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	_ = conn.Close(ctx) // the connection is gone either way
}
