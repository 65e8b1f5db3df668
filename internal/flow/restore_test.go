package flow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"bbvault/internal/backend"
	"bbvault/internal/blob"
	"bbvault/internal/dbstream"
	"bbvault/internal/index"
	"bbvault/internal/repo"
	"bbvault/test/fixture"
	"bbvault/test/standin"
	"bbvault/test/testenv"
)

// activityRows is how many rows the source database's one table holds.
const activityRows = 20000

// restoreEnv is a snapshot of a home and a database, ready to restore.
type restoreEnv struct {
	*env
	pg *testenv.PGServer
	m  *repo.Manifest
}

func newRestoreEnv(t *testing.T) *restoreEnv {
	t.Helper()
	pg := testenv.Postgres(t)
	e := newEnv(t, standin.Options{})
	src := pg.DSN(pg.NewDB(t))
	conn, err := pgx.Connect(t.Context(), src)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	mustExec(t, conn, `CREATE TABLE sta_activity (id bigserial PRIMARY KEY, body text)`)
	mustExec(t, conn, fmt.Sprintf(`INSERT INTO sta_activity (body) SELECT repeat(md5(g::text), 4) FROM generate_series(1, %d) g`, activityRows))
	res, err := Snapshot(t.Context(), e.r, SnapshotOptions{Home: e.home, Database: e.database(src)})
	if err != nil {
		t.Fatal(err)
	}
	return &restoreEnv{env: e, pg: pg, m: res.Manifest}
}

// reopen opens the repository again over be, with nothing cached.
func (re *restoreEnv) reopen(t *testing.T, be backend.Backend) *repo.Repository {
	t.Helper()
	r, err := repo.Open(t.Context(), be, []byte("pw"), repo.OpenOptions{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// target is a new empty database to restore into, and its DSN.
func (re *restoreEnv) target(t *testing.T) (*PostgresTarget, string) {
	dsn := re.pg.DSN(re.pg.NewDB(t))
	return &PostgresTarget{Options: dbstream.RestoreOptions{TargetDSN: dsn, Logger: slog.New(slog.DiscardHandler)}}, dsn
}

func (re *restoreEnv) restore(t *testing.T, r *repo.Repository, db DatabaseTarget, steps ...Step) (*RestoreResult, error) {
	home := &HomeTarget{Dir: filepath.Join(t.TempDir(), "home")}
	return Restore(t.Context(), r, re.m, RestoreOptions{Home: home, Database: db, Steps: steps})
}

// TestRestoreWritesHomeAndDatabaseAtOnce: neither part can finish unless the
// other has started (a restore one after the other would wait here until
// meetTimeout), both come back whole and agree, and the steps see them.
func TestRestoreWritesHomeAndDatabaseAtOnce(t *testing.T) {
	re := newRestoreEnv(t)
	homeStarted, dbStarted := newSignal(), newSignal()
	be := meetingBackend{Backend: re.be, treePacks: re.treePacks(t), started: homeStarted, await: dbStarted}
	db, dsn := re.target(t)
	target := meetingTarget{DatabaseTarget: db, started: dbStarted, await: homeStarted}
	res, err := re.restore(t, re.reopen(t, be), target, listHome{}, countRows{dsn})
	if err != nil {
		t.Fatal(err)
	}
	fixture.Compare(t, re.home, res.Home.Dir, fixture.DefaultExcluded)
	if d := res.Database; d.Rows != activityRows || d.TableRows["public.sta_activity"] != activityRows || d.Bytes != DatabaseOf(re.m).Size {
		t.Errorf("database result = %d rows (%v), %d bytes of dump; want %d rows, %d bytes",
			d.Rows, d.TableRows, d.Bytes, activityRows, DatabaseOf(re.m).Size)
	}
	if res.Home.Stats.Files == 0 || res.Home.Duration <= 0 || res.Database.Duration <= 0 || res.Duration < res.Database.Duration {
		t.Errorf("figures missing: home %+v in %v, database in %v, all in %v", res.Home.Stats, res.Home.Duration, res.Database.Duration, res.Duration)
	}
	if len(res.Steps) != 2 || res.Steps[0].Skipped || res.Steps[1].Skipped {
		t.Fatalf("steps = %+v, want both run", res.Steps)
	}
	if names, _ := res.Steps[0].Detail.([]string); !strings.Contains(strings.Join(names, " "), "shared") {
		t.Errorf("the home step saw %v in the restored home", res.Steps[0].Detail)
	}
	if n, _ := res.Steps[1].Detail.(int64); n != activityRows {
		t.Errorf("the database step counted %v rows, want %d", res.Steps[1].Detail, activityRows)
	}
}

// TestDamagedHomeStillRestoresTheDatabase: a corrupt blob of a home file
// costs that file, not the database.
func TestDamagedHomeStillRestoresTheDatabase(t *testing.T) {
	re := newRestoreEnv(t)
	re.damage(t, re.homeDataBlob(t))
	db, dsn := re.target(t)
	res, err := re.restore(t, re.reopen(t, re.be), db, listHome{}, countRows{dsn})
	if !errors.Is(err, ErrDamaged) || errors.Is(err, ErrDatabase) {
		t.Fatalf("err = %v, want damaged data and no database failure", err)
	}
	if !errors.Is(res.Home.Err, ErrDamaged) || len(res.Home.Stats.Failed) == 0 || res.Home.Stats.Files == 0 {
		t.Fatalf("home: %v, %d files, %d failed; want the damaged files alone lost", res.Home.Err, res.Home.Stats.Files, len(res.Home.Stats.Failed))
	}
	if res.Database.Err != nil || res.Database.Rows != activityRows {
		t.Fatalf("database: %v, %d rows; want all %d", res.Database.Err, res.Database.Rows, activityRows)
	}
	if !res.Steps[0].Skipped || res.Steps[1].Skipped || res.Steps[1].Err != nil {
		t.Errorf("steps = %+v, want the home step skipped and the database step run", res.Steps)
	}
}

// TestDamagedDumpStillRestoresTheHome: a corrupt blob of the dump fails the
// database as damage (not a database failure), and the home restores whole.
func TestDamagedDumpStillRestoresTheHome(t *testing.T) {
	re := newRestoreEnv(t)
	re.damage(t, DatabaseOf(re.m).Blobs[0])
	db, dsn := re.target(t)
	res, err := re.restore(t, re.reopen(t, re.be), db, listHome{}, countRows{dsn})
	if !errors.Is(err, ErrDamaged) || !errors.Is(err, repo.ErrCorruptBlob) || errors.Is(err, ErrDatabase) {
		t.Fatalf("err = %v, want damaged data in the dump", err)
	}
	if res.Home.Err != nil {
		t.Fatalf("home: %v", res.Home.Err)
	}
	fixture.Compare(t, re.home, res.Home.Dir, fixture.DefaultExcluded)
	if !strings.HasPrefix(res.Database.Err.Error(), "database restore: ") {
		t.Errorf("the database error does not say which part failed: %v", res.Database.Err)
	}
	if res.Steps[0].Skipped || !res.Steps[1].Skipped {
		t.Errorf("steps = %+v, want the home step run and the database step skipped", res.Steps)
	}
}

// TestRestoreChecksBothTargetsFirst: a target that is not empty stops the
// restore before either part writes anything.
func TestRestoreChecksBothTargetsFirst(t *testing.T) {
	re := newRestoreEnv(t)
	ctx := t.Context()
	t.Run("home target not empty", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "keep-me"), []byte("x"), 0o600)
		name := re.pg.NewDB(t)
		re.execPostgres(t, "DROP DATABASE "+pgx.Identifier{name}.Sanitize())
		db := &PostgresTarget{Options: dbstream.RestoreOptions{TargetDSN: re.pg.DSN(name)}}
		res, err := Restore(ctx, re.r, re.m, RestoreOptions{Home: &HomeTarget{Dir: dir}, Database: db})
		if res != nil || err == nil || !strings.Contains(err.Error(), "keep-me") {
			t.Fatalf("res = %v, err = %v: want a refusal naming keep-me", res, err)
		}
		if re.dbExists(t, name) {
			t.Fatalf("the refused restore created database %s", name)
		}
	})
	t.Run("database target not empty", func(t *testing.T) {
		db, dsn := re.target(t)
		re.execIn(t, dsn, "CREATE TABLE keep_me (id int)")
		dir := filepath.Join(t.TempDir(), "home")
		res, err := Restore(ctx, re.r, re.m, RestoreOptions{Home: &HomeTarget{Dir: dir}, Database: db})
		if res != nil || !errors.Is(err, ErrDatabase) || !strings.Contains(err.Error(), "keep_me") {
			t.Fatalf("res = %v, err = %v: want a database refusal naming keep_me", res, err)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("the refused restore created %s (%v)", dir, err)
		}
	})
}

// treePacks names the packs that hold trees: only the home restore reads them.
func (re *restoreEnv) treePacks(t *testing.T) map[string]bool {
	out := map[string]bool{}
	err := re.r.Packs().Indexed(t.Context(), func(p index.Pack) error {
		if p.Type == blob.Tree {
			out[packObject(p.ID)] = true
		}
		return nil
	})
	if err != nil || len(out) == 0 {
		t.Fatalf("no tree packs (%v)", err)
	}
	return out
}

// packObject is a pack's object name (docs/FORMAT.md).
func packObject(id blob.ID) string { s := id.String(); return "data/" + s[:2] + "/" + s }

// homeDataBlob returns a data blob that only the home uses.
func (re *restoreEnv) homeDataBlob(t *testing.T) blob.ID {
	dump := map[blob.ID]bool{}
	for _, id := range DatabaseOf(re.m).Blobs {
		dump[id] = true
	}
	var found *blob.ID
	err := re.r.Packs().Indexed(t.Context(), func(p index.Pack) error {
		for _, b := range p.Blobs {
			if found == nil && p.Type == blob.Data && !dump[b.ID] {
				found = &b.ID
			}
		}
		return nil
	})
	if err != nil || found == nil {
		t.Fatalf("no data blob of the home (%v)", err)
	}
	return *found
}

// locate returns the pack holding blob id and where the blob is in it.
func (re *restoreEnv) locate(t *testing.T, id blob.ID) (blob.ID, index.BlobEntry) {
	var pack blob.ID
	var entry *index.BlobEntry
	err := re.r.Packs().Indexed(t.Context(), func(p index.Pack) error {
		for i := range p.Blobs {
			if p.Blobs[i].ID == id {
				pack, entry = p.ID, &p.Blobs[i]
			}
		}
		return nil
	})
	if err != nil || entry == nil {
		t.Fatalf("blob %s is in no pack (%v)", id.Short(), err)
	}
	return pack, *entry
}

// damage flips a byte in the middle of blob id's stored bytes.
func (re *restoreEnv) damage(t *testing.T, id blob.ID) {
	ctx := t.Context()
	pack, entry := re.locate(t, id)
	name := packObject(pack)
	rc, err := re.be.Get(ctx, name, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	data[entry.Offset+entry.Length/2] ^= 0x55
	if err := re.be.Put(ctx, name, strings.NewReader(string(data)), int64(len(data))); err != nil {
		t.Fatal(err)
	}
}

func (re *restoreEnv) execPostgres(t *testing.T, sql string) {
	re.execIn(t, re.pg.DSN("postgres"), sql)
}

func (re *restoreEnv) execIn(t *testing.T, dsn, sql string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	mustExec(t, conn, sql)
}

func (re *restoreEnv) dbExists(t *testing.T, name string) bool {
	conn, err := pgx.Connect(t.Context(), re.pg.DSN("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var ok bool
	if err := conn.QueryRow(t.Context(), "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	return ok
}

// meetTimeout bounds how long one part waits for the other to start: only
// a restore that runs its parts one after the other waits that long.
const meetTimeout = time.Minute

// signal is an event that happens once.
type signal struct {
	once sync.Once
	ch   chan struct{}
}

func newSignal() *signal { return &signal{ch: make(chan struct{})} }

func (s *signal) fire() { s.once.Do(func() { close(s.ch) }) }

func (s *signal) wait(ctx context.Context, what string) error {
	t := time.NewTimer(meetTimeout)
	defer t.Stop()
	select {
	case <-s.ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return fmt.Errorf("%s did not start within %s: the parts do not run at the same time", what, meetTimeout)
	}
}

// meetingBackend holds the home restore's reads of tree packs until the
// database restore has started.
type meetingBackend struct {
	backend.Backend
	treePacks      map[string]bool
	started, await *signal
}

func (b meetingBackend) Get(ctx context.Context, name string, off, n int64) (io.ReadCloser, error) {
	if b.treePacks[name] {
		b.started.fire()
		if err := b.await.wait(ctx, "the database restore"); err != nil {
			return nil, err
		}
	}
	return b.Backend.Get(ctx, name, off, n)
}

// meetingTarget holds the database restore until the home restore has started.
type meetingTarget struct {
	DatabaseTarget
	started, await *signal
}

func (m meetingTarget) Restore(ctx context.Context, r io.Reader, dump map[string]string) (DatabaseSummary, error) {
	m.started.fire()
	if err := m.await.wait(ctx, "the home restore"); err != nil {
		return DatabaseSummary{}, err
	}
	return m.DatabaseTarget.Restore(ctx, r, dump)
}

// listHome is a step that lists the top of the restored home.
type listHome struct{}

func (listHome) Name() string { return "list the restored home" }
func (listHome) Needs() Parts { return PartHome }

func (listHome) Run(_ context.Context, res *RestoreResult) (any, error) {
	entries, err := os.ReadDir(res.Home.Dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names, err
}

// countRows is a step that counts the restored activity rows.
type countRows struct{ dsn string }

func (countRows) Name() string { return "count the restored rows" }
func (countRows) Needs() Parts { return PartDatabase }

func (c countRows) Run(ctx context.Context, _ *RestoreResult) (any, error) {
	conn, err := pgx.Connect(ctx, c.dsn)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var n int64
	err = conn.QueryRow(ctx, "SELECT count(*) FROM sta_activity").Scan(&n)
	return n, err
}
