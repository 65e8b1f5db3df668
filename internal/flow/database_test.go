package flow

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"bbvault/internal/dbstream"
	"bbvault/internal/fsmeta"
	"bbvault/internal/repo"
	"bbvault/internal/restorer"
	"bbvault/test/standin"
	"bbvault/test/testenv"
)

// newDBEnv is an env whose stand-in records its pushes in a real database.
func newDBEnv(t *testing.T, push time.Duration) (*env, *testenv.PGServer, string) {
	t.Helper()
	return newDBEnvAt(t, filepath.Join(t.TempDir(), "home"), standin.Options{PushInterval: push})
}

// newDBEnvAt is newDBEnv with the home at home and the stand-in's opts.
func newDBEnvAt(t testing.TB, home string, opts standin.Options) (*env, *testenv.PGServer, string) {
	t.Helper()
	pg := testenv.Postgres(t)
	opts.DSN = pg.DSN(pg.NewDB(t))
	e := newEnvAt(t, home, opts)
	return e, pg, opts.DSN
}

func (e *env) database(dsn string) *PostgresDatabase {
	src, err := dbstream.NewSource(dbstream.Options{DSN: dsn})
	if err != nil {
		e.t.Fatal(err)
	}
	return &PostgresDatabase{Source: src, Logger: slog.New(slog.DiscardHandler)}
}

// TestConsistentUnderContinuousPushes is the promise of the lock flow: while
// the stand-in pushes (git first, then a database row), every snapshot
// restores to a home and a database that agree. It holds in every mode: the
// home read under the lock, read from a btrfs snapshot taken under the lock,
// and without the lock (zero downtime), where the home may be ahead of the
// database but never behind it (with pushes that harden their writes: see
// standin.Options.Durable).
func TestConsistentUnderContinuousPushes(t *testing.T) {
	runs := 7
	if testing.Short() {
		runs = 1
	}
	for _, mode := range []string{repo.ModeLocked, repo.ModeLockedFS, repo.ModeZeroDowntime} {
		t.Run(mode, func(t *testing.T) { consistentRuns(t, mode, runs) })
	}
}

func consistentRuns(t *testing.T, mode string, runs int) {
	ctx := context.Background()
	home := filepath.Join(t.TempDir(), "home")
	if mode != repo.ModeLocked {
		home = testenv.Btrfs(t, 512<<20).Subvolume(t, "bitbucket")
	}
	// Without the lock a snapshot can land in the middle of a push: only
	// an instance whose git hardens its writes (as one backed up this way
	// must) is then consistent, as after a crash.
	zd := mode == repo.ModeZeroDowntime
	e, pg, dsn := newDBEnvAt(t, home, standin.Options{PushInterval: 5 * time.Millisecond, Durable: zd})
	check := standin.CheckConsistent
	if zd {
		check = standin.CheckNotBehind
	}
	for i := range runs {
		res, err := Snapshot(ctx, e.r, e.modeOptions(mode, dsn))
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		if res.Manifest.Mode != mode {
			t.Fatalf("run %d: the manifest records mode %q, want %q", i, res.Manifest.Mode, mode)
		}
		e.assertUnlocked()
		target := filepath.Join(t.TempDir(), "home")
		if err := restorer.PrepareTarget(target); err != nil {
			t.Fatal(err)
		}
		if _, err := restorer.Restore(ctx, e.r, *res.Manifest.Tree, restorer.Options{Target: target, Meta: fsmeta.ApplyOptions{}}); err != nil {
			t.Fatalf("run %d: restore home: %v", i, err)
		}
		restored := pg.DSN(pg.NewDB(t))
		sr := e.r.NewStreamReader(ctx, res.Manifest.Streams[0].Blobs)
		_, err = dbstream.Restore(ctx, dbstream.RestoreOptions{TargetDSN: restored}, sr)
		sr.Close()
		if err != nil {
			t.Fatalf("run %d: restore database: %v", i, err)
		}
		if err := check(ctx, target, restored); err != nil {
			t.Fatalf("run %d: restored home and database disagree: %v", i, err)
		}
	}
	if n, err := e.bb.Pushes(); err != nil || n < runs {
		t.Fatalf("the stand-in pushed %d times (%v): the test did not run against a live instance", n, err)
	}
	if mode == repo.ModeZeroDowntime && e.everLocked() {
		t.Fatal("zero-downtime mode locked the instance")
	}
	e.assertNoFSSnapshotLeft()
}

// TestRowsAfterUnlockAreNotInTheDump: the dump streams from the snapshot
// exported under the lock, so what users write after the unlock is absent.
func TestRowsAfterUnlockAreNotInTheDump(t *testing.T) {
	ctx := context.Background()
	e, pg, dsn := newDBEnv(t, time.Hour)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	mustExec(t, conn, `CREATE TABLE sta_activity (id bigserial PRIMARY KEY, body text)`)
	mustExec(t, conn, `INSERT INTO sta_activity (body) SELECT repeat(md5(g::text), 20) FROM generate_series(1, 60000) g`)
	l := afterUnlock{Locker: e.locker(bbPass, 10*time.Second), fn: func() {
		mustExec(t, conn, `INSERT INTO sta_activity (body) VALUES ('written after the unlock')`)
	}}
	res, err := Snapshot(ctx, e.r, SnapshotOptions{Home: e.home, Lock: l, Database: e.database(dsn)})
	if err != nil {
		t.Fatal(err)
	}
	restored := pg.DSN(pg.NewDB(t))
	sr := e.r.NewStreamReader(ctx, res.Manifest.Streams[0].Blobs)
	defer sr.Close()
	if _, err := dbstream.Restore(ctx, dbstream.RestoreOptions{TargetDSN: restored}, sr); err != nil {
		t.Fatal(err)
	}
	rc, err := pgx.Connect(ctx, restored)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close(ctx)
	var n, late int
	if err := rc.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE body = 'written after the unlock') FROM sta_activity`).Scan(&n, &late); err != nil {
		t.Fatal(err)
	}
	if n != 60000 || late != 0 {
		t.Fatalf("restored %d rows, %d of them written after the unlock; want 60000 and 0", n, late)
	}
}

func mustExec(t *testing.T, conn *pgx.Conn, sql string) {
	t.Helper()
	if _, err := conn.Exec(context.Background(), sql); err != nil {
		t.Fatal(err)
	}
}

// afterUnlock runs fn right after the instance is unlocked.
type afterUnlock struct {
	Locker
	fn func()
}

func (a afterUnlock) Lock(ctx context.Context) (Session, error) {
	s, err := a.Locker.Lock(ctx)
	if err != nil {
		return nil, err
	}
	return unlockHook{Session: s, fn: a.fn}, nil
}

type unlockHook struct {
	Session
	fn func()
}

func (u unlockHook) Unlock(ctx context.Context) error {
	err := u.Session.Unlock(ctx)
	u.fn()
	return err
}

func TestFailedDumpWritesNoSnapshotAndUnlocks(t *testing.T) {
	e, pg, _ := newDBEnv(t, time.Hour)
	bad := pg.DSN("no_such_database")
	before := e.snapshotCount()
	db := e.database(bad)
	db.Source, _ = dbstream.NewSource(dbstream.Options{DSN: bad})
	_, err := Snapshot(context.Background(), e.r, SnapshotOptions{Home: e.home, Lock: e.locker(bbPass, 10*time.Second),
		Database: skipCheck{db}})
	if err == nil || !errors.Is(err, ErrDatabase) || !strings.Contains(err.Error(), "no_such_database") {
		t.Fatalf("err = %v, want a database error carrying pg_dump's message", err)
	}
	e.assertUnlocked()
	if e.snapshotCount() != before {
		t.Fatal("a failed dump wrote a snapshot")
	}
}

// skipCheck lets a broken database past the preflight check, to fail under
// the lock instead, as a database that dies mid-run would.
type skipCheck struct{ *PostgresDatabase }

func (skipCheck) Check(context.Context) error { return nil }
