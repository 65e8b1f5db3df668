package dbstream

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"testing/iotest"

	"bbvault/test/testenv"

	"github.com/jackc/pgx/v5"
)

func TestRestoreRefusesNonEmptyDatabaseAndLeavesItAlone(t *testing.T) {
	pg := testenv.Postgres(t)
	src := bitbucketDB(t, pg)
	dump := dumpBytes(t, newSource(t, pg, src), DumpOptions{})
	target := pg.NewDB(t)
	execSQL(t, pg.DSN(target), "CREATE TABLE keep_me (id int PRIMARY KEY, v text); INSERT INTO keep_me VALUES (1, 'precious')")
	before := fingerprint(t, pg.DSN(target))
	_, err := Restore(testCtx(t), RestoreOptions{TargetDSN: pg.DSN(target), BinDir: pg.BinDir}, bytes.NewReader(dump))
	if err == nil || !strings.Contains(err.Error(), "already exists") || !strings.Contains(err.Error(), "public.keep_me") {
		t.Fatalf("restore into a database with a table: %v, want a refusal naming the table", err)
	}
	after := fingerprint(t, pg.DSN(target))
	if len(after) != len(before) || after["public.keep_me"] != before["public.keep_me"] {
		t.Fatalf("refused restore changed the target: before %v, after %v", before, after)
	}
}

func TestRestoreIntoExistingEmptyDatabase(t *testing.T) {
	pg := testenv.Postgres(t)
	src := bitbucketDB(t, pg)
	want := fingerprint(t, pg.DSN(src))
	target, sum := restoreIntoEmptyDB(t, pg, src)
	if sum.Created || sum.Database != target {
		t.Errorf("summary says created=%v database=%q, want an existing %q", sum.Created, sum.Database, target)
	}
	assertSameDatabase(t, pg, src, target, want)
}

func TestRestoreWithParallelJobs(t *testing.T) {
	pg := testenv.Postgres(t)
	src := bitbucketDB(t, pg)
	want := fingerprint(t, pg.DSN(src))
	d, err := newSource(t, pg, src).Start(testCtx(t), DumpOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	dst, staging := targetDB(t, pg), t.TempDir()
	_, err = Restore(testCtx(t), RestoreOptions{TargetDSN: pg.DSN(dst), BinDir: pg.BinDir, Jobs: 4,
		TempDir: staging, Logger: testLogger(t)}, d)
	if err != nil {
		t.Fatal(err)
	}
	assertSameDatabase(t, pg, src, dst, want)
	if left, _ := os.ReadDir(staging); len(left) != 0 {
		t.Errorf("the staging file was left behind: %v", left)
	}
}

func TestRestoreWithOwner(t *testing.T) {
	pg := testenv.Postgres(t)
	src := bitbucketDB(t, pg)
	dump := dumpBytes(t, newSource(t, pg, src), DumpOptions{})
	owner := uniqueName("owner_")
	execSQL(t, pg.DSN("postgres"), "CREATE ROLE "+owner+" NOLOGIN")
	cleanupSQL(t, pg.DSN("postgres"), "DROP ROLE "+owner)
	dst := targetDB(t, pg) // dropped before the role: cleanups run last-in first-out
	_, err := Restore(testCtx(t), RestoreOptions{TargetDSN: pg.DSN(dst), BinDir: pg.BinDir, Owner: owner,
		Logger: testLogger(t)}, bytes.NewReader(dump))
	if err != nil {
		t.Fatal(err)
	}
	var dbOwner string
	var others []string
	conn := connect(t, pg.DSN(dst))
	err = conn.QueryRow(testCtx(t), "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()").Scan(&dbOwner)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(testCtx(t), `SELECT c.relname || ' owned by ' || pg_get_userbyid(c.relowner)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind IN ('r', 'S', 'v') AND pg_get_userbyid(c.relowner) <> $1`, owner)
	if err == nil {
		others, err = pgx.CollectRows(rows, pgx.RowTo[string])
	}
	if err != nil {
		t.Fatal(err)
	}
	if dbOwner != owner || len(others) != 0 {
		t.Errorf("database owned by %s, want %s; objects owned by someone else: %v", dbOwner, owner, others)
	}
}

func TestFailedRestoreExplainsAndCleansUp(t *testing.T) {
	pg := testenv.Postgres(t)
	src := bitbucketDB(t, pg)
	dump := dumpBytes(t, newSource(t, pg, src), DumpOptions{})
	truncated := dump[:len(dump)*2/3]
	t.Run("truncated dump into a new database", func(t *testing.T) {
		dst := targetDB(t, pg)
		_, err := Restore(testCtx(t), RestoreOptions{TargetDSN: pg.DSN(dst), BinDir: pg.BinDir}, bytes.NewReader(truncated))
		var te *ToolError
		if !errors.As(err, &te) || te.Tool != "pg_restore" || te.Stderr == "" || !strings.Contains(err.Error(), "dropped") {
			t.Fatalf("restore of a truncated dump: %v, want pg_restore's message and that the database was dropped", err)
		}
		t.Logf("the error says: %v", err)
		if dbExists(t, pg, dst) {
			t.Errorf("the half-restored database %s it created is still there", dst)
		}
	})
	t.Run("truncated dump into an existing database", func(t *testing.T) {
		dst := pg.NewDB(t)
		_, err := Restore(testCtx(t), RestoreOptions{TargetDSN: pg.DSN(dst), BinDir: pg.BinDir}, bytes.NewReader(truncated))
		if err == nil || !strings.Contains(err.Error(), "partial restore") || !strings.Contains(err.Error(), "pg_restore") {
			t.Fatalf("restore of a truncated dump: %v, want pg_restore's message and a partial-restore warning", err)
		}
		t.Logf("the error says: %v", err)
		if !dbExists(t, pg, dst) {
			t.Errorf("Restore dropped %s, a database it did not create", dst)
		}
	})
	t.Run("stream read error", func(t *testing.T) {
		dst := targetDB(t, pg)
		broken := io.MultiReader(bytes.NewReader(truncated), iotest.ErrReader(errors.New("repository blob missing")))
		_, err := Restore(testCtx(t), RestoreOptions{TargetDSN: pg.DSN(dst), BinDir: pg.BinDir}, broken)
		if err == nil || !strings.Contains(err.Error(), "reading the dump stream") || !strings.Contains(err.Error(), "repository blob missing") {
			t.Fatalf("restore from a failing reader: %v, want the reader's error", err)
		}
		t.Logf("the error says: %v", err)
		if dbExists(t, pg, dst) {
			t.Errorf("the half-restored database %s it created is still there", dst)
		}
	})
	t.Run("empty stream", func(t *testing.T) {
		dst := targetDB(t, pg)
		_, err := Restore(testCtx(t), RestoreOptions{TargetDSN: pg.DSN(dst), BinDir: pg.BinDir}, strings.NewReader(""))
		if err == nil || !strings.Contains(err.Error(), "empty") || dbExists(t, pg, dst) {
			t.Fatalf("restore of an empty stream: %v (database created: %v), want a refusal", err, dbExists(t, pg, dst))
		}
	})
}

func TestRestoreRejectsOwnerOptionsForPlainDumps(t *testing.T) {
	pg := testenv.Postgres(t)
	dst := targetDB(t, pg)
	_, err := Restore(testCtx(t), RestoreOptions{TargetDSN: pg.DSN(dst), BinDir: pg.BinDir, NoOwner: true},
		strings.NewReader("--\n-- PostgreSQL database dump\n--\nSELECT 1;\n"))
	if err == nil || !strings.Contains(err.Error(), "custom-format") || dbExists(t, pg, dst) {
		t.Fatalf("no-owner restore of a plain dump: %v, want a refusal before creating anything", err)
	}
}

// TestCheckTargetChangesNothing: the check before a restore accepts a missing
// or empty database without creating anything, and refuses what Restore
// would refuse, with the same words.
func TestCheckTargetChangesNothing(t *testing.T) {
	pg := testenv.Postgres(t)
	ctx := testCtx(t)
	missing := targetDB(t, pg)
	if err := CheckTarget(ctx, RestoreOptions{TargetDSN: pg.DSN(missing)}, FormatCustom); err != nil {
		t.Fatalf("missing database: %v", err)
	}
	if dbExists(t, pg, missing) {
		t.Fatalf("the check created database %s", missing)
	}
	empty := pg.NewDB(t)
	if err := CheckTarget(ctx, RestoreOptions{TargetDSN: pg.DSN(empty)}, ""); err != nil {
		t.Fatalf("empty database: %v", err)
	}
	full := pg.NewDB(t)
	execSQL(t, pg.DSN(full), "CREATE TABLE keep_me (id int PRIMARY KEY)")
	err := CheckTarget(ctx, RestoreOptions{TargetDSN: pg.DSN(full)}, FormatCustom)
	if err == nil || !strings.Contains(err.Error(), "already exists") || !strings.Contains(err.Error(), "public.keep_me") {
		t.Fatalf("database with a table: %v, want a refusal naming the table", err)
	}
	err = CheckTarget(ctx, RestoreOptions{TargetDSN: pg.DSN(missing), Owner: "someone"}, FormatPlain)
	if err == nil || !strings.Contains(err.Error(), "plain SQL") {
		t.Fatalf("owner for a plain dump: %v, want a refusal", err)
	}
	if err := CheckTarget(ctx, RestoreOptions{TargetDSN: "host=127.0.0.1"}, ""); err == nil || !strings.Contains(err.Error(), "names no database") {
		t.Fatalf("DSN without a database: %v", err)
	}
}

// A restored database has the planner's statistics of every table that
// holds rows (pg_restore leaves them empty), gathered over several
// connections.
func TestRestoredTablesHaveStatistics(t *testing.T) {
	pg := testenv.Postgres(t)
	target, sum := restoreIntoEmptyDB(t, pg, bitbucketDB(t, pg))
	conn := connect(t, pg.DSN(target))
	filled := 0
	for table, n := range sum.TableRows {
		if n == 0 {
			continue
		}
		filled++
		var columns int
		err := conn.QueryRow(testCtx(t), `SELECT count(*) FROM pg_stats WHERE format('%I.%I', schemaname, tablename) = $1`, table).Scan(&columns)
		if err != nil {
			t.Fatal(err)
		}
		if columns == 0 {
			t.Errorf("%s (%d rows) has no statistics after the restore", table, n)
		}
	}
	if filled < 2 {
		t.Fatalf("only %d tables with rows: the test needs several", filled)
	}
}

// restoreIntoEmptyDB dumps src and restores the dump into an empty
// database made for it, which it returns with Restore's summary.
func restoreIntoEmptyDB(t *testing.T, pg *testenv.PGServer, src string) (string, Summary) {
	t.Helper()
	dump := dumpBytes(t, newSource(t, pg, src), DumpOptions{})
	target := pg.NewDB(t)
	sum, err := Restore(testCtx(t), RestoreOptions{TargetDSN: pg.DSN(target), BinDir: pg.BinDir, Logger: testLogger(t)},
		bytes.NewReader(dump))
	if err != nil {
		t.Fatal(err)
	}
	return target, sum
}
