package testenv

import (
	"context"
	"testing"

	"bbvault/test/servers"
)

// PGServer is this test binary's PostgreSQL: where it listens, its
// superuser, the directory of its binaries, and the methods of
// servers.Postgres (DSN includes the password).
type PGServer struct {
	servers.Postgres
}

// postgresOnce starts the PostgreSQL of this test binary; every caller gets
// the same server, or the same error.
var postgresOnce = startOnce(func() (*PGServer, func() error, error) {
	p, err := servers.StartPostgres(context.Background(), servers.PostgresOptions{})
	if err != nil {
		return nil, nil, err
	}
	return &PGServer{Postgres: *p}, p.Stop, nil
})

// Postgres returns this test binary's PostgreSQL server, starting it on first
// use.
func Postgres(t testing.TB) *PGServer {
	t.Helper()
	return started(t, "PostgreSQL", postgresOnce)
}

// NewDB creates a database with a fresh name derived from the test's name and
// returns the name. The database is dropped after the test.
func (p *PGServer) NewDB(t testing.TB) string {
	t.Helper()
	return forTest(t, uniqueName(t, "t", '_', 63), p.CreateDB, p.DropDB)
}
