package main

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"bbvault/internal/backend/local"
	"bbvault/internal/blob"
	"bbvault/internal/index"
	"bbvault/internal/repo"
	"bbvault/internal/repolock"
	"bbvault/test/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// Shapes of --json outputs: key -> JSON type. A script relies on these.
var (
	snapshotShape = shape{"id": "string", "time": "string", "duration_ms": "number", "files": "number",
		"bytes": "number", "bytes_read": "number", "bytes_added": "number", "bytes_stored": "number",
		"files_unchanged": "number", "lock_window_ms": "number", "changed_during_read": "number",
		"skipped": "number", "timings_ms": "object", "mode": "string"}
	timingsShape = shape{"pre_lock": "number", "lock_and_drain": "number", "locked_pass": "number",
		"database_under_lock": "number", "database": "number", "total": "number"}
	snapshotsShape = shape{"id": "string", "time": "string", "host": "string", "home": "string",
		"files": "number", "bytes": "number", "bytes_added": "number", "duration_ms": "number",
		"lock_window_ms": "number", "mode": "string", "tags": "array", "nodes": "array"}
	lsShape = shape{"path": "string", "type": "string", "mode": "string", "uid": "number", "gid": "number",
		"user": "string", "group": "string", "size": "number", "mtime": "string", "link_target": "string"}
	restoreHomeShape = shape{"snapshot": "string", "files": "number", "dirs": "number", "bytes": "number",
		"failed": "number", "hardlinks": "number", "symlinks": "number", "duration_ms": "number",
		"steps": "array", "source": "object"}
	restoreSourceShape = shape{"host": "string", "home": "string", "database": "string", "database_host": "string",
		"database_port": "number", "postgres_version": "string", "bitbucket_url": "string", "bitbucket_version": "string"}
	restoreDatabaseShape = shape{"name": "string", "tables": "number", "rows": "number", "bytes": "number"}
	checkShape           = shape{"ok": "bool", "duration_ms": "number", "snapshots": "number", "trees": "number",
		"packs": "number", "packs_read": "number", "blobs_read": "number", "bytes_read": "number",
		"unreferenced_packs": "number", "unreferenced_bytes": "number", "index_objects_read": "number",
		"leftovers": "array", "leftover_bytes": "number", "problems": "array"}
	lockShape = shape{"name": "string", "stale": "bool", "exclusive": "bool", "host": "string", "pid": "number",
		"command": "string", "time": "string"}
	pruneShape = shape{"dry_run": "bool", "snapshots_removed": "array", "snapshots_kept": "array",
		"packs_deleted": "number", "unreferenced_packs_deleted": "number", "packs_repacked": "number",
		"packs_written": "number", "blobs_repacked": "number", "index_objects_written": "number",
		"index_objects_deleted": "number", "missing_packs": "number", "bytes_before": "number",
		"bytes_freed": "number", "unused_bytes_left": "number", "duration_ms": "number",
		"leftovers_removed": "number", "leftover_bytes": "number", "damage_records_retired": "number",
		"damaged_snapshots": "array"}
	repairShape = shape{"dry_run": "bool", "index": "object", "packs": "object", "snapshots": "object",
		"leftovers_removed": "number", "leftover_bytes": "number", "damage_records_retired": "number",
		"damage_left": "array", "duration_ms": "number"}
)

// shape is the keys of a JSON object and the type of each value.
type shape map[string]string

// with returns s plus more keys.
func (s shape) with(more shape) shape {
	out := shape{}
	for _, m := range []shape{s, more} {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// cliEnv is a local repository, a small home and a source database, used
// through the CLI.
type cliEnv struct {
	t    *testing.T
	env  map[string]string
	home string
	pg   *testenv.PGServer
	src  string
}

func newCLIEnv(t *testing.T) *cliEnv {
	dir := t.TempDir()
	c := &cliEnv{t: t, home: filepath.Join(dir, "home"), pg: testenv.Postgres(t),
		env: map[string]string{"BBVAULT_REPOSITORY": filepath.Join(dir, "repo"), "BBVAULT_PASSWORD": "pw",
			"BBVAULT_CACHE_DIR": filepath.Join(dir, "cache"), "XDG_STATE_HOME": filepath.Join(dir, "state")}}
	for rel, body := range map[string]string{"shared/bitbucket.properties": "jdbc.url=x\n",
		"shared/data/repositories/1/HEAD": "ref: refs/heads/master\n", "shared/data/repositories/1/config": "[core]\n"} {
		p := filepath.Join(c.home, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.Symlink("bitbucket.properties", filepath.Join(c.home, "shared", "link"))
	os.Mkdir(filepath.Join(c.home, "shared", "empty"), 0o755)
	c.src = c.pg.DSN(c.pg.NewDB(t))
	c.sql(c.src, "CREATE TABLE sta_repo (id int PRIMARY KEY, name text); INSERT INTO sta_repo SELECT g, 'r' || g FROM generate_series(1, 100) g")
	return c
}

func (c *cliEnv) sql(dsn, sql string) {
	conn, err := pgx.Connect(c.t.Context(), dsn)
	if err != nil {
		c.t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(c.t.Context(), sql); err != nil {
		c.t.Fatal(err)
	}
}

// query scans the one value sql returns for arg into dst.
func (c *cliEnv) query(dsn, sql string, arg, dst any) {
	conn, err := pgx.Connect(c.t.Context(), dsn)
	if err != nil {
		c.t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if err := conn.QueryRow(c.t.Context(), sql, arg).Scan(dst); err != nil {
		c.t.Fatal(err)
	}
}

// json runs a command with --json, wants exit code want, and decodes stdout.
func (c *cliEnv) json(want int, args ...string) any {
	c.t.Helper()
	stdout, stderr, code := runCLI(c.t, c.env, append(args, "--json")...)
	if code != want {
		c.t.Fatalf("bbvault %s: exit %d, want %d: %s", strings.Join(args, " "), code, want, stderr)
	}
	var v any
	if err := json.Unmarshal([]byte(stdout), &v); err != nil {
		c.t.Fatalf("bbvault %s --json printed no JSON: %v\n%s", strings.Join(args, " "), err, stdout)
	}
	return v
}

// TestJSONOutputs pins the --json output of every command that has one:
// the exact keys, the type of each value, and [] for empty lists.
func TestJSONOutputs(t *testing.T) {
	c := newCLIEnv(t)
	assertShape(t, "init", c.json(0, "init"), shape{"id": "string", "location": "string", "version": "number"})

	first := asObject(t, "snapshot", c.json(0, "snapshot", "--home", c.home))
	assertShape(t, "snapshot", first, snapshotShape)
	assertShape(t, "snapshot timings_ms", first["timings_ms"], timingsShape)
	second := asObject(t, "snapshot --db", c.json(0, "snapshot", "--home", c.home, "--db", c.src, "--tag", "nightly"))
	assertShape(t, "snapshot --db", second, snapshotShape.with(shape{"db_bytes": "number"}))

	list := asList(t, "snapshots", c.json(0, "snapshots"), 2)
	assertShape(t, "snapshots[0]", list[0], snapshotsShape)
	assertShape(t, "snapshots[1]", list[1], snapshotsShape.with(shape{"db_bytes": "number"}))
	asList(t, "snapshots[0].tags", asObject(t, "snapshots[0]", list[0])["tags"], 0)
	if tags := asList(t, "snapshots[1].tags", asObject(t, "snapshots[1]", list[1])["tags"], 1); tags[0] != "nightly" {
		t.Errorf("snapshots[1].tags = %v, want [nightly]", tags)
	}

	for _, e := range asList(t, "ls", c.json(0, "ls", "latest", "shared"), 4) {
		assertShape(t, "ls entry", e, lsShape)
	}
	asList(t, "ls of an empty directory", c.json(0, "ls", "latest", "shared/empty"), 0)

	c.checkRestores(t, first["id"].(string))
	c.checkMaintenance(t)
}

func (c *cliEnv) checkRestores(t *testing.T, firstID string) {
	dir := t.TempDir()
	both := asObject(t, "restore", c.json(0, "restore", "latest", "--target", filepath.Join(dir, "both"),
		"--db-target", c.pg.DSN(c.newTargetName())))
	assertShape(t, "restore", both, restoreHomeShape.with(shape{"database": "object"}))
	assertShape(t, "restore database", both["database"], restoreDatabaseShape)
	if db := both["database"].(map[string]any); db["rows"] != 100.0 || db["tables"] != 1.0 {
		t.Errorf("restore database = %v, want 1 table of 100 rows", db)
	}
	assertShape(t, "restore source", both["source"], restoreSourceShape)
	dbOnly := asObject(t, "restore --db-only", c.json(0, "restore", "latest", "--db-only", "--db-target", c.pg.DSN(c.newTargetName())))
	assertShape(t, "restore --db-only", dbOnly, shape{"snapshot": "string", "database": "object", "duration_ms": "number",
		"steps": "array", "source": "object"})
	asList(t, "restore --db-only steps", dbOnly["steps"], 0)
	homeOnly := c.json(0, "restore", firstID, "--target", filepath.Join(dir, "home"))
	assertShape(t, "restore of the home", homeOnly, restoreHomeShape)
}

// newTargetName is a database name free to restore into, dropped after the test.
func (c *cliEnv) newTargetName() string {
	name := c.pg.NewDB(c.t)
	c.sql(c.pg.DSN("postgres"), "DROP DATABASE "+pgx.Identifier{name}.Sanitize())
	return name
}

func (c *cliEnv) checkMaintenance(t *testing.T) {
	ok := asObject(t, "check", c.json(0, "check", "--read-data"))
	assertShape(t, "check --read-data", ok, checkShape.with(shape{"read_data": "string"}))
	asList(t, "check problems", ok["problems"], 0)
	assertShape(t, "check", c.json(0, "check"), checkShape)

	c.checkLocks(t)
	assertShape(t, "index rebuild", c.json(0, "index", "rebuild"),
		shape{"index_files": "number", "packs": "number", "blobs": "number", "cache": "string"})

	forget := asObject(t, "forget", c.json(0, "forget", "--dry-run", "latest"))
	assertShape(t, "forget", forget, shape{"dry_run": "bool", "snapshots_removed": "array"})
	for _, e := range asList(t, "forget snapshots_removed", forget["snapshots_removed"], 1) {
		assertShape(t, "forget entry", e, shape{"id": "string", "time": "string", "host": "string"})
	}
	prune := asObject(t, "prune", c.json(0, "prune", "--keep", "1"))
	assertShape(t, "prune", prune, pruneShape)
	for _, e := range asList(t, "prune snapshots_removed", prune["snapshots_removed"], 1) {
		assertShape(t, "prune removed", e, shape{"id": "string", "time": "string", "host": "string", "home": "string"})
	}
	for _, e := range asList(t, "prune snapshots_kept", prune["snapshots_kept"], 1) {
		assertShape(t, "prune kept", e, shape{"id": "string", "time": "string", "reasons": "array"})
	}
	c.checkDamage(t)
}

// checkLocks holds a repository lock while unlock-repo lists it, then
// removes it with --all.
func (c *cliEnv) checkLocks(t *testing.T) {
	assertShape(t, "unlock-repo", c.json(0, "unlock-repo"), shape{"removed": "array", "remaining": "array"})
	r := c.openRepo()
	lock, err := repolock.Acquire(t.Context(), r, repolock.Options{Command: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Unlock()
	left := asObject(t, "unlock-repo", c.json(0, "unlock-repo"))
	asList(t, "unlock-repo removed", left["removed"], 0)
	assertShape(t, "unlock-repo remaining", asList(t, "unlock-repo remaining", left["remaining"], 1)[0], lockShape)
	all := asObject(t, "unlock-repo --all", c.json(0, "unlock-repo", "--all"))
	assertShape(t, "unlock-repo --all removed", asList(t, "unlock-repo --all removed", all["removed"], 1)[0], lockShape)
}

// openRepo opens the repository in-process, for what the CLI cannot do.
func (c *cliEnv) openRepo() *repo.Repository {
	be, err := local.Open(c.env["BBVAULT_REPOSITORY"])
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { be.Close() })
	r, err := repo.Open(c.t.Context(), be, []byte("pw"), repo.OpenOptions{CacheDir: c.t.TempDir()})
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { r.Close() })
	return r
}

// checkDamage flips a byte in every pack of file data: check reports
// problems, and restore still prints what it did, with the exit code of
// damage.
func (c *cliEnv) checkDamage(t *testing.T) {
	var packs []string
	err := c.openRepo().Packs().Indexed(t.Context(), func(p index.Pack) error {
		if p.Type == blob.Data {
			s := p.ID.String()
			packs = append(packs, filepath.Join(c.env["BBVAULT_REPOSITORY"], "data", s[:2], s))
		}
		return nil
	})
	if err != nil || len(packs) == 0 {
		t.Fatalf("no data packs (%v)", err)
	}
	for _, p := range packs {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)/3] ^= 0x55
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	bad := asObject(t, "check of a damaged repository", c.json(exitIntegrity, "check", "--read-data"))
	assertShape(t, "check of a damaged repository", bad, checkShape.with(shape{"read_data": "string"}))
	allowed := shape{"kind": "string", "pack": "string", "snapshot": "string", "blobs": "array", "message": "string", "affected": "array"}
	for _, p := range asList(t, "check problems", bad["problems"], -1) {
		assertSubShape(t, "check problem", p, allowed, "kind", "message")
	}
	assertShape(t, "repair --dry-run", c.json(0, "repair", "--dry-run"), repairShape)
	res := asObject(t, "restore of a damaged snapshot", c.json(exitIntegrity, "restore", "latest", "--target", filepath.Join(t.TempDir(), "h")))
	assertShape(t, "restore of a damaged snapshot", res, restoreHomeShape)
	if res["failed"] == 0.0 {
		t.Errorf("restore of a damaged snapshot reports no failed files: %v", res)
	}
}

func asObject(t *testing.T, what string, v any) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s: %T %v, want a JSON object", what, v, v)
	}
	return m
}

// asList checks that v is a JSON array (not null) of n elements (n < 0: at
// least one).
func asList(t *testing.T, what string, v any, n int) []any {
	t.Helper()
	l, ok := v.([]any)
	if !ok {
		t.Fatalf("%s: %T %v, want a JSON array", what, v, v)
	}
	if (n >= 0 && len(l) != n) || (n < 0 && len(l) == 0) {
		t.Fatalf("%s: %d elements, want %d: %v", what, len(l), n, l)
	}
	return l
}

// assertShape checks that v is an object with exactly the keys of want, each
// holding a value of its type.
func assertShape(t *testing.T, what string, v any, want shape) {
	t.Helper()
	m := asObject(t, what, v)
	if got, exp := slices.Sorted(maps.Keys(m)), slices.Sorted(maps.Keys(want)); strings.Join(got, " ") != strings.Join(exp, " ") {
		t.Errorf("%s: keys %v, want %v", what, got, exp)
	}
	checkTypes(t, what, m, want)
}

// assertSubShape checks that v is an object holding the required keys and
// no key outside allowed, each of its type.
func assertSubShape(t *testing.T, what string, v any, allowed shape, required ...string) {
	t.Helper()
	m := asObject(t, what, v)
	for _, k := range required {
		if _, ok := m[k]; !ok {
			t.Errorf("%s: no %q in %v", what, k, m)
		}
	}
	for k := range m {
		if _, ok := allowed[k]; !ok {
			t.Errorf("%s: unexpected key %q", what, k)
		}
	}
	checkTypes(t, what, m, allowed)
}

func checkTypes(t *testing.T, what string, m map[string]any, want shape) {
	t.Helper()
	for k, typ := range want {
		if v, ok := m[k]; ok && jsonType(v) != typ {
			t.Errorf("%s: %q is %s (%v), want %s", what, k, jsonType(v), v, typ)
		}
	}
}

func jsonType(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return "null"
}
