package dbstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ScratchMarker starts the comment a scratch database carries, which tells
// it from every database CreateScratch did not make.
const ScratchMarker = "bbvault scratch database"

// sqlstateObjectInUse is DROP DATABASE refused while sessions use it.
const sqlstateObjectInUse = "55006"

// ScratchOptions say where a scratch database goes.
type ScratchOptions struct {
	// DSN names the server (and the connecting user); its database is
	// replaced by Name.
	DSN string
	// Name of the scratch database.
	Name string
	// Encoding of the new database (the dump's); empty takes template0's.
	Encoding string
	// Purpose is written into the marking comment, e.g. "drill of snapshot 1a2b3c4d".
	Purpose string
	Logger  *slog.Logger
}

// Scratch is a database CreateScratch made and marked, to be restored into
// and dropped again.
type Scratch struct {
	Name string
	DSN  string // the options' DSN naming the scratch database
	t    *target
}

// CreateScratch creates an empty database for a throwaway restore and marks
// it with a comment (ScratchMarker). An existing database of that name is
// refused unless it carries the mark: a scratch database left by an earlier
// run, which is dropped first (and refused while anyone is connected to
// it). A database CreateScratch did not make is never touched.
func CreateScratch(ctx context.Context, o ScratchOptions) (*Scratch, error) {
	if o.Encoding != "" && !encodingRE.MatchString(o.Encoding) {
		return nil, fmt.Errorf("invalid database encoding %q", o.Encoding)
	}
	dsn, err := WithDatabase(o.DSN, o.Name)
	if err != nil {
		return nil, err
	}
	ep, err := parseEndpoint(dsn)
	if err != nil {
		return nil, err
	}
	s := &Scratch{Name: o.Name, DSN: dsn, t: &target{ep: ep, name: o.Name, logger: orDiscard(o.Logger)}}
	conn, err := s.t.maintenance(ctx)
	if err != nil {
		return nil, err
	}
	defer closeConn(conn)
	if err := s.clearLeftover(ctx, conn); err != nil {
		return nil, err
	}
	return s, s.create(ctx, conn, o)
}

// clearLeftover drops a marked database of the scratch's name and refuses
// an unmarked one.
func (s *Scratch) clearLeftover(ctx context.Context, conn *pgx.Conn) error {
	var comment *string
	err := conn.QueryRow(ctx, "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
		s.Name).Scan(&comment)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("looking for database %q: %w", s.Name, err)
	case comment == nil || !strings.HasPrefix(*comment, ScratchMarker):
		return fmt.Errorf("database %q already exists on %s and is not a scratch database bbvault made: "+
			"it is left alone; name another database for the scratch restore", s.Name, s.t.ep.describe(s.Name))
	}
	s.t.logger.Info("dropping a scratch database left by an earlier run", "database", s.Name, "comment", *comment)
	return s.dropWith(ctx, conn)
}

// create makes the database and marks it.
func (s *Scratch) create(ctx context.Context, conn *pgx.Conn, o ScratchOptions) error {
	if err := s.t.create(ctx, conn, RestoreOptions{Encoding: o.Encoding}); err != nil {
		return err
	}
	host, _ := os.Hostname()
	mark := fmt.Sprintf("%s: %s, created %s by pid %d on %s", ScratchMarker, o.Purpose,
		time.Now().UTC().Format(time.RFC3339), os.Getpid(), host)
	_, err := conn.Exec(ctx, "COMMENT ON DATABASE "+pgx.Identifier{s.Name}.Sanitize()+" IS "+quoteLiteral(mark))
	if err != nil {
		return errors.Join(fmt.Errorf("marking scratch database %q: %w", s.Name, err), s.dropWith(ctx, conn))
	}
	return nil
}

// Drop removes the scratch database, even after ctx was cancelled.
func (s *Scratch) Drop(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), dropTimeout)
	defer cancel()
	conn, err := s.t.maintenance(ctx)
	if err != nil {
		return err
	}
	defer closeConn(conn)
	return s.dropWith(ctx, conn)
}

func (s *Scratch) dropWith(ctx context.Context, conn *pgx.Conn) error {
	_, err := conn.Exec(ctx, "DROP DATABASE "+pgx.Identifier{s.Name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == sqlstateObjectInUse {
		return fmt.Errorf("scratch database %q is in use (another drill, or a session left open): "+
			"close those sessions or name another database: %w", s.Name, err)
	}
	if err != nil {
		return fmt.Errorf("dropping scratch database %q: %w", s.Name, err)
	}
	return nil
}

// quoteLiteral quotes s as an SQL string literal.
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
