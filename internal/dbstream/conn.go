package dbstream

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// SQLSTATE codes Check and Restore explain to the user.
const (
	sqlstateInvalidPassword = "28P01"
	sqlstateInvalidAuthSpec = "28000"
	sqlstateInvalidCatalog  = "3D000" // database does not exist
)

// endpoint is one PostgreSQL server and database as both pgx and the libpq
// programs reach it.
type endpoint struct {
	cfg      *pgx.ConnConfig // parsed DSN, libpq environment and passfile applied
	conninfo string          // the DSN for libpq programs: no password, no application_name
}

// dsnError reports an unparsable DSN without repeating it: pgx's own message
// quotes the DSN with a best-effort password redaction.
type dsnError struct{ err error }

func (e *dsnError) Error() string {
	return "invalid PostgreSQL DSN (expected postgres://USER@HOST:PORT/DATABASE?sslmode=... " +
		"or keyword=value pairs such as 'host=... dbname=...'; not shown, it may hold a password)"
}

func (e *dsnError) Unwrap() error { return e.err }

// parseEndpoint reads a DSN ("" means the libpq environment alone).
func parseEndpoint(dsn string) (*endpoint, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, &dsnError{err: err}
	}
	conninfo, err := childConninfo(dsn)
	if err != nil {
		return nil, err
	}
	return &endpoint{cfg: cfg, conninfo: conninfo}, nil
}

// database is the name of the database the DSN points at.
func (e *endpoint) database() string { return e.cfg.Database }

// describe names the server, user and database for messages, never the
// password.
func (e *endpoint) describe(database string) string {
	return fmt.Sprintf("host %s port %d user %s database %s",
		e.cfg.Host, e.cfg.Port, strconv.Quote(e.cfg.User), strconv.Quote(database))
}

// connect opens a pgx connection to database ("" means the DSN's) with the
// given application_name, explaining the usual failures.
func (e *endpoint) connect(ctx context.Context, database, appName string) (*pgx.Conn, error) {
	cfg := e.cfg.Copy()
	if database != "" {
		cfg.Database = database
	}
	cfg.RuntimeParams["application_name"] = appName
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, e.connectError(cfg.Database, err)
	}
	return conn, nil
}

// connectError turns a pgx connection failure into a message that says what
// to fix. pgx's own text (kept as the wrapped error) names user and database
// but never the password.
func (e *endpoint) connectError(database string, err error) error {
	where := e.describe(database)
	var pgErr *pgconn.PgError
	var netErr net.Error
	switch {
	case errors.As(err, &pgErr) && (pgErr.Code == sqlstateInvalidPassword || pgErr.Code == sqlstateInvalidAuthSpec):
		return fmt.Errorf("PostgreSQL rejected the login (%s): check the user and password "+
			"(DSN, PGPASSWORD or passfile) and pg_hba.conf: %w", where, err)
	case errors.As(err, &pgErr) && pgErr.Code == sqlstateInvalidCatalog:
		return fmt.Errorf("database %q does not exist (%s): check the database name: %w", database, where, err)
	case errors.As(err, &netErr):
		return fmt.Errorf("cannot reach PostgreSQL (%s): is the server running and "+
			"accepting connections at that address? %w", where, err)
	}
	return fmt.Errorf("connecting to PostgreSQL (%s): %w", where, err)
}

// childEnv is the environment of a libpq program: ours, plus the password
// pgx resolved (from the DSN, PGPASSWORD or the passfile) as PGPASSWORD and
// the application_name as PGAPPNAME. Later entries win in exec.Cmd.Env.
func (e *endpoint) childEnv(appName string) []string {
	env := append(os.Environ(), "PGAPPNAME="+appName)
	if e.cfg.Password != "" {
		env = append(env, "PGPASSWORD="+e.cfg.Password)
	}
	return env
}

// childDBArg is the --dbname argument for a libpq program: the connection
// string without secrets, or the database name when the DSN was empty.
func (e *endpoint) childDBArg() string {
	if e.conninfo != "" {
		return "--dbname=" + e.conninfo
	}
	return "--dbname=" + quoteConninfoDB(e.cfg.Database)
}

// quoteConninfoDB is a connection string naming only a database, so a name
// containing '=' is not mistaken for a connection string.
func quoteConninfoDB(db string) string { return "dbname=" + quoteConninfo(db) }
