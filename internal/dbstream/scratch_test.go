package dbstream

import (
	"bytes"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"bbvault/test/testenv"
)

func TestAddressAndJDBCURL(t *testing.T) {
	cases := []struct{ dsn, jdbc, user string }{
		{"postgres://bitbucket:s3cret@newdb.example:5433/bitbucket?sslmode=require",
			"jdbc:postgresql://newdb.example:5433/bitbucket?sslmode=require", "bitbucket"},
		{"host=10.1.2.3 port=5432 user=bb password=x dbname='bit bucket'",
			"jdbc:postgresql://10.1.2.3:5432/bit%20bucket", "bb"},
		{"postgres://bb@[::1]:6000/bb", "jdbc:postgresql://[::1]:6000/bb", "bb"},
	}
	for _, c := range cases {
		a, err := ParseAddress(c.dsn)
		if err != nil {
			t.Fatalf("ParseAddress(%q): %v", c.dsn, err)
		}
		got, err := a.JDBCURL()
		if err != nil || got != c.jdbc || a.User != c.user {
			t.Errorf("%q: JDBC URL %q (%v), user %q; want %q, %q", c.dsn, got, err, a.User, c.jdbc, c.user)
		}
		if strings.Contains(a.String(), "s3cret") {
			t.Errorf("Address.String repeats the password: %s", a)
		}
	}
	a, err := ParseAddress("host=/var/run/postgresql dbname=bb")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.JDBCURL(); err == nil || !strings.Contains(err.Error(), "TCP") {
		t.Errorf("JDBC URL of a socket address: %v, want an error asking for a TCP address", err)
	}
}

func TestSameServer(t *testing.T) {
	addr := func(dsn string) Address {
		a, err := ParseAddress(dsn)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	same := [][2]string{
		{"postgres://a@127.0.0.1:5432/x", "postgres://b@localhost:5432/y"},
		{"postgres://a@DB.example.:5432/x", "host=db.example port=5432"},
		{"host=/var/run/postgresql port=5432", "postgres://a@localhost:5432/x"},
	}
	for _, p := range same {
		if !addr(p[0]).SameServer(addr(p[1])) {
			t.Errorf("%q and %q: not the same server, want same", p[0], p[1])
		}
	}
	differ := [][2]string{
		{"postgres://a@127.0.0.1:5432/x", "postgres://a@127.0.0.1:5433/x"},
		{"postgres://a@db1:5432/x", "postgres://a@db2:5432/x"},
	}
	for _, p := range differ {
		if addr(p[0]).SameServer(addr(p[1])) {
			t.Errorf("%q and %q: the same server, want different", p[0], p[1])
		}
	}
}

func TestWithDatabaseKeepsEverythingElse(t *testing.T) {
	cases := []struct{ dsn, want string }{
		{"postgres://u:pw@h:5/postgres?sslmode=disable", "postgres://u:pw@h:5/scratch_1?sslmode=disable"},
		{"postgres://u@h", "postgres://u@h/scratch_1"},
		{"host=h password='p w' dbname=postgres", "host='h' password='p w' dbname='scratch_1'"},
		{"", "dbname='scratch_1'"},
	}
	for _, c := range cases {
		got, err := WithDatabase(c.dsn, "scratch_1")
		if err != nil || got != c.want {
			t.Errorf("WithDatabase(%q) = %q (%v), want %q", c.dsn, got, err, c.want)
		}
		if a, err := ParseAddress(got); err != nil || a.Database != "scratch_1" {
			t.Errorf("%q parses as database %q (%v)", got, a.Database, err)
		}
	}
}

// TestScratchIsMarkedReusedAndNeverTakesAnotherDatabase: a scratch database
// carries its mark, a leftover scratch database is replaced, a database
// bbvault did not make is refused untouched, and Drop removes it.
func TestScratchIsMarkedReusedAndNeverTakesAnotherDatabase(t *testing.T) {
	pg := testenv.Postgres(t)
	ctx := testCtx(t)
	name := targetDB(t, pg)
	opts := ScratchOptions{DSN: pg.DSN("postgres"), Name: name, Encoding: "UTF8", Purpose: "test", Logger: testLogger(t)}
	s, err := CreateScratch(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, s.DSN)
	if err != nil {
		t.Fatal(err)
	}
	_, err = conn.Exec(ctx, "CREATE TABLE left_behind (id int)")
	closeConn(conn)
	if err != nil {
		t.Fatal(err)
	}
	again, err := CreateScratch(ctx, opts)
	if err != nil {
		t.Fatalf("a second scratch database over a leftover one: %v", err)
	}
	conn, err = pgx.Connect(ctx, again.DSN)
	if err != nil {
		t.Fatal(err)
	}
	var tables int
	err = conn.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE tablename = 'left_behind'").Scan(&tables)
	closeConn(conn)
	if err != nil || tables != 0 {
		t.Errorf("the leftover scratch database was not replaced: %d tables named left_behind (%v)", tables, err)
	}
	if err := again.Drop(ctx); err != nil || dbExists(t, pg, name) {
		t.Fatalf("Drop: %v (still there: %v)", err, dbExists(t, pg, name))
	}

	foreign := pg.NewDB(t)
	execSQL(t, pg.DSN(foreign), "CREATE TABLE production (id int); INSERT INTO production VALUES (1)")
	opts.Name = foreign
	if _, err := CreateScratch(ctx, opts); err == nil || !strings.Contains(err.Error(), "not a scratch database") {
		t.Fatalf("scratch over a database bbvault did not make: %v, want a refusal", err)
	}
	var n int
	if err := connect(t, pg.DSN(foreign)).QueryRow(ctx, "SELECT count(*) FROM production").Scan(&n); err != nil || n != 1 {
		t.Errorf("the refused database changed: %d rows (%v)", n, err)
	}
}

// TestScratchInUseIsNotDropped: a leftover scratch database someone is
// connected to is refused, not taken from under them.
func TestScratchInUseIsNotDropped(t *testing.T) {
	pg := testenv.Postgres(t)
	ctx := testCtx(t)
	opts := ScratchOptions{DSN: pg.DSN("postgres"), Name: targetDB(t, pg), Purpose: "test", Logger: testLogger(t)}
	s, err := CreateScratch(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	conn := connect(t, s.DSN)
	if _, err := CreateScratch(ctx, opts); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("scratch over one in use: %v, want a refusal", err)
	}
	closeConn(conn)
}

// TestRestoreWithoutPrivilegesOnAServerLackingTheRoles: NoOwner and
// NoPrivileges restore a dump whose owner and grants name a role the target
// server does not have.
func TestRestoreWithoutPrivilegesOnAServerLackingTheRoles(t *testing.T) {
	pg := testenv.Postgres(t)
	ctx := testCtx(t)
	role := uniqueName("role_")
	execSQL(t, pg.DSN("postgres"), "CREATE ROLE "+role)
	cleanupSQL(t, pg.DSN("postgres"), "DROP ROLE IF EXISTS "+role)
	src := pg.NewDB(t)
	execSQL(t, pg.DSN(src), "CREATE TABLE granted (id int); INSERT INTO granted VALUES (1), (2);"+
		"ALTER TABLE granted OWNER TO "+role+"; GRANT SELECT ON granted TO "+role)
	dump := dumpBytes(t, newSource(t, pg, src), DumpOptions{})
	execSQL(t, pg.DSN(src), "DROP TABLE granted")
	execSQL(t, pg.DSN("postgres"), "DROP ROLE "+pgx.Identifier{role}.Sanitize())

	dst := targetDB(t, pg)
	sum, err := Restore(ctx, RestoreOptions{TargetDSN: pg.DSN(dst), BinDir: pg.BinDir, NoOwner: true,
		NoPrivileges: true, Logger: testLogger(t)}, bytes.NewReader(dump))
	if err != nil || sum.TableRows["public.granted"] != 2 {
		t.Fatalf("restore without the dump's role: %v, rows %v", err, sum.TableRows)
	}
}
