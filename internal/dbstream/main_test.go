package dbstream

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"bbvault/test/testenv"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// bitbucketSchema is a small Bitbucket-shaped database: users with password
// hashes, projects, repositories, pull requests and their activity, with
// foreign keys, indexes, a sequence, a view, a bytea column, NULLs and
// unicode text.
const bitbucketSchema = `
CREATE SEQUENCE repository_id_seq START 100;
CREATE TABLE cwd_user (
	id bigint PRIMARY KEY,
	user_name varchar(255) NOT NULL UNIQUE,
	lower_user_name varchar(255) NOT NULL,
	display_name varchar(255),
	email_address varchar(255),
	credential varchar(255),
	is_active boolean NOT NULL DEFAULT true,
	created_date timestamptz NOT NULL);
CREATE INDEX idx_cwd_user_lower ON cwd_user (lower_user_name);
CREATE TABLE project (id int PRIMARY KEY, project_key varchar(128) NOT NULL UNIQUE, name text, description text);
CREATE TABLE repository (
	id int PRIMARY KEY DEFAULT nextval('repository_id_seq'),
	project_id int NOT NULL REFERENCES project (id),
	slug varchar(128) NOT NULL, name varchar(128), hierarchy_id char(20), is_public boolean,
	UNIQUE (project_id, slug));
ALTER SEQUENCE repository_id_seq OWNED BY repository.id;
CREATE TABLE sta_pull_request (
	id bigint PRIMARY KEY,
	to_repository_id int NOT NULL REFERENCES repository (id),
	pr_state int NOT NULL, title text, description text, updated_timestamp timestamptz);
CREATE INDEX idx_sta_pr_repo_state ON sta_pull_request (to_repository_id, pr_state);
CREATE TABLE sta_activity (
	id bigint PRIMARY KEY,
	pr_id bigint REFERENCES sta_pull_request (id),
	user_id bigint REFERENCES cwd_user (id),
	activity_type int, comment_text text, created_timestamp timestamptz);
CREATE TABLE bb_attachment (id int PRIMARY KEY, name text, content bytea);
CREATE VIEW active_users AS SELECT id, user_name FROM cwd_user WHERE is_active;
`

// bitbucketData fills the schema; activityRows sets the bulk (about 100
// bytes of dump per row).
const bitbucketData = `
INSERT INTO cwd_user
SELECT g, 'user' || g, 'user' || g,
       CASE WHEN g % 7 = 0 THEN NULL ELSE 'Jürgen Ωmega 日本語 🚀 #' || g END,
       'user' || g || '@example.com',
       '{PKCS5S2}' || encode(sha256(('secret' || g)::bytea), 'base64'),
       g % 5 <> 0, timestamptz '2020-01-01 00:00+00' + g * interval '1 hour'
FROM generate_series(1, 500) g;
INSERT INTO project SELECT g, 'PRJ' || g, 'Projekt «' || g || '»', NULL FROM generate_series(1, 20) g;
INSERT INTO repository (project_id, slug, name, hierarchy_id, is_public)
SELECT 1 + g % 20, 'repo-' || g, 'Repo ' || g, md5(g::text)::char(20), CASE WHEN g % 3 = 0 THEN NULL ELSE g % 2 = 0 END
FROM generate_series(1, 200) g;
INSERT INTO sta_pull_request
SELECT g, 100 + g % 200, g % 3, 'Fix ' || g || E' \u2014 «quotes» ''single'' "double"',
       CASE WHEN g % 4 = 0 THEN NULL ELSE repeat('line\n', g % 9) END,
       timestamptz '2021-06-01 12:00+00' + g * interval '1 minute'
FROM generate_series(1, 2000) g;
INSERT INTO sta_activity
SELECT g, 1 + g % 2000, 1 + g % 500, g % 6, 'comment ' || md5(g::text) || ' ✓', timestamptz '2022-01-01 00:00+00' + g * interval '1 second'
FROM generate_series(1, %d) g;
INSERT INTO bb_attachment
SELECT g, 'file' || g || '.bin', CASE WHEN g % 10 = 0 THEN NULL ELSE sha256(g::text::bytea) || '\x00ff00'::bytea END
FROM generate_series(1, 300) g;
SELECT setval('repository_id_seq', 400);
`

// activityRows makes the dump several MB, far more than a pipe buffers, so
// pg_dump is still running while a test holds off reading.
const activityRows = 60000

// testCtx returns a context for one test, with a deadline well inside go
// test's.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// bitbucketDB creates a database holding the Bitbucket-shaped fixture.
func bitbucketDB(t *testing.T, pg *testenv.PGServer) string {
	t.Helper()
	db := pg.NewDB(t)
	execSQL(t, pg.DSN(db), bitbucketSchema)
	execSQL(t, pg.DSN(db), strings.Replace(bitbucketData, "%d", strconv.Itoa(activityRows), 1))
	return db
}

// execSQL runs SQL statements on dsn.
func execSQL(t testing.TB, dsn, sql string) {
	t.Helper()
	conn := connect(t, dsn)
	if _, err := conn.Exec(testCtx(t), sql); err != nil {
		t.Fatalf("exec: %v", err)
	}
}

// connect opens a connection closed at the end of the test.
func connect(t testing.TB, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(testCtx(t), dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { closeConn(conn) })
	return conn
}

// newSource is a Source on database db of pg, using pg's own binaries.
func newSource(t testing.TB, pg *testenv.PGServer, db string) *Source {
	t.Helper()
	src, err := NewSource(Options{DSN: pg.DSN(db), BinDir: pg.BinDir, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// targetDB names a database that does not exist yet and drops it after the
// test, whoever created it.
func targetDB(t *testing.T, pg *testenv.PGServer) string {
	t.Helper()
	name := uniqueName("restore_")
	cleanupSQL(t, pg.DSN("postgres"), "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	return name
}

// uniqueName is prefix and random lowercase letters and digits.
func uniqueName(prefix string) string { return prefix + strings.ToLower(rand.Text()[:12]) }

// cleanupSQL runs sql on dsn when the test ends (t.Context is cancelled by then).
func cleanupSQL(t *testing.T, dsn, sql string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("cleanup %q: %v", sql, err)
			return
		}
		defer closeConn(conn)
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Errorf("cleanup %q: %v", sql, err)
		}
	})
}

// dbExists reports whether pg has database name.
func dbExists(t *testing.T, pg *testenv.PGServer, name string) bool {
	t.Helper()
	var ok bool
	err := connect(t, pg.DSN("postgres")).QueryRow(testCtx(t),
		"SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&ok)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// fingerprint summarises every user table (row count and md5 of all rows in
// a canonical order) and every sequence (last value) of the database.
func fingerprint(t *testing.T, dsn string) map[string]string {
	t.Helper()
	ctx := testCtx(t)
	conn := connect(t, dsn)
	rows, err := conn.Query(ctx, `
		SELECT format('%I.%I', n.nspname, c.relname), c.relkind
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'S') AND `+userRelationFilter+` ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	type rel struct {
		Name string
		Kind string
	}
	rels, err := pgx.CollectRows(rows, pgx.RowToStructByPos[rel])
	if err != nil {
		t.Fatal(err)
	}
	fp := map[string]string{}
	for _, r := range rels {
		q := "SELECT count(*)::text || ' ' || md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x::text), '')) FROM " + r.Name + " x"
		if r.Kind == "S" {
			q = "SELECT last_value::text || ' ' || is_called::text FROM " + r.Name
		}
		var v string
		if err := conn.QueryRow(ctx, q).Scan(&v); err != nil {
			t.Fatalf("fingerprint of %s: %v", r.Name, err)
		}
		fp[r.Name] = v
	}
	return fp
}

// schemaDump is `pg_dump --schema-only` of database db, without the
// per-run \restrict lines newer pg_dump versions write.
func schemaDump(t *testing.T, pg *testenv.PGServer, db string) string {
	t.Helper()
	cmd := exec.CommandContext(testCtx(t), filepath.Join(pg.BinDir, "pg_dump"), "--schema-only", "--no-password",
		"--host="+pg.Host, "--port="+strconv.Itoa(pg.Port), "--username="+pg.User, "--dbname="+quoteConninfoDB(db))
	cmd.Env = append(os.Environ(), "PGPASSWORD="+pg.Password)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pg_dump --schema-only %s: %v", db, err)
	}
	var keep []string
	for line := range strings.Lines(string(out)) {
		if !strings.HasPrefix(line, `\restrict`) && !strings.HasPrefix(line, `\unrestrict`) {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "")
}

// dumpBytes runs a whole dump of src into memory.
func dumpBytes(t *testing.T, src *Source, opts DumpOptions) []byte {
	t.Helper()
	d, err := src.Start(testCtx(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, d); err != nil {
		t.Fatalf("reading the dump: %v", err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("closing the dump: %v", err)
	}
	return buf.Bytes()
}
