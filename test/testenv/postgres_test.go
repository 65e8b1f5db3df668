package testenv

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
)

func TestPostgresNewDBIsUsableAndIsolated(t *testing.T) {
	p := Postgres(t)
	t.Logf("PostgreSQL %s:%d (%s) started in %v", p.Host, p.Port, p.BinDir, p.started)
	first, second := p.NewDB(t), p.NewDB(t)
	if first == second {
		t.Fatalf("NewDB returned %q twice", first)
	}
	conn := connect(t, p.DSN(first))
	if _, err := conn.Exec(t.Context(), "CREATE TABLE repos (id int PRIMARY KEY, slug text)"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(t.Context(), "INSERT INTO repos VALUES (1, 'alpha'), (2, 'beta')"); err != nil {
		t.Fatal(err)
	}
	var n int
	var slugs string
	err := conn.QueryRow(t.Context(), "SELECT count(*), string_agg(slug, ',' ORDER BY id) FROM repos").Scan(&n, &slugs)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 || slugs != "alpha,beta" {
		t.Fatalf("repos holds %d rows %q, want 2 rows alpha,beta", n, slugs)
	}
	other := connect(t, p.DSN(second))
	_, err = other.Exec(t.Context(), "SELECT * FROM repos")
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "42P01" {
		t.Fatalf("table from %s seen in %s: err=%v, want undefined_table (42P01)", first, second, err)
	}
}

func TestPostgresRejectsWrongPassword(t *testing.T) {
	p := Postgres(t)
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
	p := Postgres(t)
	conn := connect(t, p.DSN("postgres"))
	var listen string
	if err := conn.QueryRow(t.Context(), "SHOW listen_addresses").Scan(&listen); err != nil {
		t.Fatal(err)
	}
	if listen != "127.0.0.1" {
		t.Errorf("listen_addresses = %q, want 127.0.0.1", listen)
	}
	if strings.Contains(strings.Join(processArgs(t, p.proc.pid()), " "), p.Password) {
		t.Errorf("the superuser password is on postgres' command line")
	}
}

func TestPostgresBinDirHasClientTools(t *testing.T) {
	p := Postgres(t)
	for _, tool := range []string{"pg_dump", "pg_restore", "psql"} {
		if !isExecutable(filepath.Join(p.BinDir, tool)) {
			t.Errorf("%s has no executable %s", p.BinDir, tool)
		}
	}
}

func TestPostgresNeverRunsAsRoot(t *testing.T) {
	p := Postgres(t)
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.proc.pid()))
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
	t.Fatalf("no Uid line in /proc/%d/status", p.proc.pid())
}

// connect opens a pgx connection closed at the end of the test.
func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}
