package dbgen

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"bbvault/test/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestGenerateChurnAndCompare(t *testing.T) {
	pg := testenv.Postgres(t)
	ctx := context.Background()
	dsn := pg.DSN(pg.NewDB(t))
	s, err := Generate(ctx, Options{DSN: dsn, Bytes: 2 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if s.Rows["sta_comment"] < 1000 || s.Bytes < 2<<20 {
		t.Fatalf("generated %v rows, %d bytes; want a few MiB of Bitbucket-like rows", s.Rows, s.Bytes)
	}
	before, err := Fingerprints(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if before["sta_comment"].Rows != s.Rows["sta_comment"] {
		t.Fatalf("fingerprint counts %d comments, Generate reported %d", before["sta_comment"].Rows, s.Rows["sta_comment"])
	}
	if same := Compare(before, before); same != "" {
		t.Fatalf("a database differs from itself: %s", same)
	}
	c, err := Churn(ctx, Options{DSN: dsn}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if c.Inserted == 0 || c.Updated == 0 {
		t.Fatalf("churn changed nothing: %+v", c)
	}
	after, err := Fingerprints(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if Compare(before, after) == "" {
		t.Fatal("Compare finds no difference after a day of churn")
	}
	if after["changeset"].Rows <= before["changeset"].Rows {
		t.Fatalf("changesets %d -> %d: churn should append", before["changeset"].Rows, after["changeset"].Rows)
	}
}

func TestCompareSeesChangedContent(t *testing.T) {
	pg := testenv.Postgres(t)
	ctx := context.Background()
	dsn := pg.DSN(pg.NewDB(t))
	if _, err := Generate(ctx, Options{DSN: dsn, Bytes: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	before, err := Fingerprints(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "UPDATE project SET name = 'renamed' WHERE id = 1"); err != nil {
		t.Fatal(err)
	}
	after, err := Fingerprints(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if diff := Compare(before, after); !strings.Contains(diff, "project") {
		t.Fatalf("Compare after renaming a project: %q; want it to name the project table", diff)
	}
}

func TestGenerateRefusesDatabaseWithTables(t *testing.T) {
	pg := testenv.Postgres(t)
	ctx := context.Background()
	dsn := pg.DSN(pg.NewDB(t))
	if _, err := Generate(ctx, Options{DSN: dsn, Bytes: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(ctx, Options{DSN: dsn, Bytes: 1 << 20}); err == nil || !strings.Contains(err.Error(), "already has tables") {
		t.Fatalf("second Generate: %v; want a refusal", err)
	}
}
