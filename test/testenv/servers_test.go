package testenv

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The servers themselves are tested in test/servers; these tests check
// what testenv adds: one server per test binary, fresh buckets and
// databases per test, a bbvault binary built once.

func TestMinIOIsSharedAndBucketsAreFresh(t *testing.T) {
	a, b := MinIO(t), MinIO(t)
	t.Logf("MinIO at %s", a.Endpoint)
	if a != b {
		t.Fatalf("second MinIO call started another server: %s and %s", a.Endpoint, b.Endpoint)
	}
	first, second := a.NewBucket(t), a.NewBucket(t)
	if first == second {
		t.Fatalf("NewBucket returned %q twice", first)
	}
	client, err := a.Client()
	if err != nil {
		t.Fatal(err)
	}
	for _, bucket := range []string{first, second} {
		ok, err := client.BucketExists(t.Context(), bucket)
		if err != nil || !ok {
			t.Errorf("bucket %s: exists=%v err=%v, want it to exist", bucket, ok, err)
		}
	}
}

func TestPostgresNewDBIsUsableAndIsolated(t *testing.T) {
	p := Postgres(t)
	t.Logf("PostgreSQL %s:%d (%s)", p.Host, p.Port, p.BinDir)
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

func TestBbvaultIsBuiltOnceAndRuns(t *testing.T) {
	first, second := Bbvault(t), Bbvault(t)
	if first != second {
		t.Fatalf("Bbvault built twice: %s and %s", first, second)
	}
	out, err := exec.Command(first, "--help").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "snapshot") {
		t.Fatalf("%s --help: %v; output:\n%s\nwant the command list, with snapshot", first, err, out)
	}
}
