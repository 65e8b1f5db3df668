package servers_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"bbvault/test/servers"
	"bbvault/test/testenv"
)

func TestPostgresRejectsWrongPassword(t *testing.T) {
	p := testenv.Postgres(t)
	wrong := *p
	wrong.Password += "x"
	conn, err := pgx.Connect(t.Context(), wrong.DSN("postgres"))
	if err == nil {
		conn.Close(t.Context())
		t.Fatal("connected with a wrong password")
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "28P01" {
		t.Fatalf("wrong password: %v, want invalid_password (28P01)", err)
	}
}

func TestPostgresListensOnLoopbackOnly(t *testing.T) {
	p := testenv.Postgres(t)
	if listen := show(t, p.DSN("postgres"), "listen_addresses"); listen != "127.0.0.1" {
		t.Errorf("listen_addresses = %q, want 127.0.0.1", listen)
	}
	if strings.Contains(strings.Join(processArgs(t, p.PID()), " "), p.Password) {
		t.Errorf("the superuser password is on postgres' command line")
	}
}

func TestPostgresBinDirHasClientTools(t *testing.T) {
	p := testenv.Postgres(t)
	for _, tool := range []string{"pg_dump", "pg_restore", "psql"} {
		if info, err := os.Stat(filepath.Join(p.BinDir, tool)); err != nil || info.Mode().Perm()&0o111 == 0 {
			t.Errorf("%s has no executable %s", p.BinDir, tool)
		}
	}
}

func TestPostgresNeverRunsAsRoot(t *testing.T) {
	p := testenv.Postgres(t)
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.PID()))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(status)) {
		if fields := strings.Fields(line); len(fields) > 1 && fields[0] == "Uid:" {
			if want := strconv.Itoa(os.Geteuid()); os.Geteuid() != 0 && fields[1] != want {
				t.Errorf("postgres runs as uid %s, want ours (%s)", fields[1], want)
			}
			if fields[1] == "0" {
				t.Errorf("postgres runs as root")
			}
			return
		}
	}
	t.Fatalf("no Uid line in /proc/%d/status", p.PID())
}

// show returns the value of a server setting, read over a new connection.
func show(t *testing.T, dsn, setting string) string {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.Background())
	var v string
	if err := conn.QueryRow(t.Context(), "SHOW "+pgx.Identifier{setting}.Sanitize()).Scan(&v); err != nil {
		t.Fatalf("SHOW %s: %v", setting, err)
	}
	return v
}

func TestPostgresStopEndsTheServerAndRemovesItsData(t *testing.T) {
	testenv.Postgres(t) // Need PostgreSQL: skip, or fail under CI, when it is missing
	ctx := t.Context()
	p, err := servers.StartPostgres(ctx, servers.PostgresOptions{Settings: []string{"work_mem=8MB"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Stop() }) // if the test ends early; a second Stop does nothing
	if workMem := show(t, p.DSN("postgres"), "work_mem"); workMem != "8MB" {
		t.Errorf("work_mem = %q; want the 8MB given in Settings", workMem)
	}
	if strings.Contains(p.ChildDSN("postgres"), p.Password) {
		t.Error("ChildDSN carries the password; children must get it from PGPASSWORD")
	}
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := p.Exec(ctx, "SELECT 1"); err == nil {
		t.Error("the server still answers after Stop")
	}
	if _, err := os.Stat(p.Dir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still there after Stop: %v", p.Dir(), err)
	}
}
