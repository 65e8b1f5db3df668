package index

import (
	"bytes"
	"context"
	"database/sql"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"bbvault/internal/blob"
)

func TestOpenOtherRepositoryWipes(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "index.db")
	d, err := Open(ctx, path, "repo-A", Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustAdd(t, d, "idx-A", makePack("a", blob.Data, idOf("a")))
	if err := d.PutSnapshot(ctx, SnapshotRow{ID: "snap-A", Time: testTime, Host: "h"}); err != nil {
		t.Fatal(err)
	}
	d.Close()

	var logs bytes.Buffer
	d, err = Open(ctx, path, "repo-B", Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if s := mustStats(t, d); s != (Stats{}) {
		t.Errorf("cache opened for repo-B still holds repo-A's rows: %+v", s)
	}
	if ids, _ := d.SnapshotIDs(ctx); len(ids) != 0 {
		t.Errorf("cache opened for repo-B still lists snapshots %v", ids)
	}
	if !strings.Contains(logs.String(), "different repository ID") {
		t.Errorf("no log line says why the cache was rebuilt; logs: %q", logs.String())
	}
	mustAdd(t, d, "idx-B", makePack("b", blob.Data, idOf("b")))
	d.Close()

	d = openTest(t, path) // testRepo: wiped again
	if s := mustStats(t, d); s != (Stats{}) {
		t.Errorf("stats = %+v, want empty", s)
	}
}

func TestOpenSameRepositoryKeepsRows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "index.db")
	d, err := Open(context.Background(), path, testRepo, Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustAdd(t, d, "idx", makePack("a", blob.Data, idOf("a")))
	d.Close()
	if !mustHas(t, openTest(t, path), idOf("a")) {
		t.Error("reopening the cache of the same repository lost its rows")
	}
}

func TestOpenUnknownSchemaVersionWipes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "index.db")
	d, err := Open(context.Background(), path, testRepo, Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustAdd(t, d, "idx", makePack("a", blob.Data, idOf("a")))
	d.Close()
	rawExec(t, path, `UPDATE meta SET value = '999' WHERE key = 'schema_version'`)

	d = openTest(t, path)
	if mustHas(t, d, idOf("a")) {
		t.Error("a cache with schema version 999 was used instead of rebuilt")
	}
	mustAdd(t, d, "idx", makePack("a", blob.Data, idOf("a"))) // usable again
}

// A file that is an SQLite database but not ours (say a path mix-up) is
// rebuilt, even with foreign keys between its tables.
func TestOpenForeignDatabaseWipes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "index.db")
	rawExec(t, path,
		`PRAGMA foreign_keys = ON`,
		`CREATE TABLE parent (id INTEGER PRIMARY KEY)`,
		`CREATE TABLE child (p INTEGER REFERENCES parent(id))`,
		`CREATE VIEW v AS SELECT * FROM child`,
		`INSERT INTO parent VALUES (1)`,
		`INSERT INTO child VALUES (1)`)
	d := openTest(t, path)
	mustAdd(t, d, "idx", makePack("a", blob.Data, idOf("a")))
	if !mustHas(t, d, idOf("a")) {
		t.Error("rebuilt cache does not work")
	}
}

func TestOpenGarbageFileIsMovedAside(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "index.db")
	garbage := bytes.Repeat([]byte("this is not an SQLite file\n"), 400)
	if err := os.WriteFile(path, garbage, 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	d, err := Open(context.Background(), path, testRepo, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatalf("Open of a garbage file: %v", err)
	}
	defer d.Close()
	mustAdd(t, d, "idx", makePack("a", blob.Data, idOf("a")))
	checkMovedAside(t, dir, garbage)
	if !strings.Contains(logs.String(), "damaged") {
		t.Errorf("no log line about the damaged cache; logs: %q", logs.String())
	}
}

// A cache whose first page (the schema) was overwritten after the header.
func TestOpenDamagedSchemaPageIsMovedAside(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "index.db")
	d, err := Open(context.Background(), path, testRepo, Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustAdd(t, d, "idx", genPacks("p", 20, 50)...)
	d.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	copy(data[100:4096], bytes.Repeat([]byte{0xA5}, 4096))
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	d = openTest(t, path)
	if mustHas(t, d, idOf("p blob 0/0")) {
		t.Error("the rebuilt cache claims a blob from the damaged one")
	}
	checkMovedAside(t, dir, data)
}

func checkMovedAside(t *testing.T, dir string, want []byte) {
	t.Helper()
	aside, _ := filepath.Glob(filepath.Join(dir, "index.db.corrupt-*"))
	if len(aside) != 1 {
		t.Fatalf("moved-aside files = %v, want exactly one", aside)
	}
	got, err := os.ReadFile(aside[0])
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("moved-aside file does not hold the damaged bytes (err %v)", err)
	}
}

func TestOpenRejectsBadArguments(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, c := range []struct{ path, repo string }{
		{"", testRepo},
		{filepath.Join(dir, "a?b.db"), testRepo},
		{filepath.Join(dir, "ok.db"), ""},
	} {
		if d, err := Open(ctx, c.path, c.repo, Options{}); err == nil {
			d.Close()
			t.Errorf("Open(%q, %q) succeeded", c.path, c.repo)
		}
	}
}

// rawExec runs statements on the file with a plain connection, as another
// program would.
func rawExec(t *testing.T, path string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}
