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
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"bbvault/internal/bitbucket"
	"bbvault/internal/fssnap"
	"bbvault/internal/repo"
	"bbvault/internal/tree"
	"bbvault/internal/treewalk"
	"bbvault/test/standin"
	"bbvault/test/testenv"
)

// modeOptions are the options of a snapshot of e in mode, with a btrfs
// snapshot in the filesystem modes.
func (e *env) modeOptions(mode, dsn string) SnapshotOptions {
	o := SnapshotOptions{Home: e.home}
	if dsn != "" {
		o.Database = e.database(dsn)
	}
	switch mode {
	case repo.ModeLocked:
		o.Lock = e.locker(bbPass, 10*time.Second)
	case repo.ModeLockedFS:
		o.Lock, o.FS = e.locker(bbPass, 10*time.Second), e.fsSnap(fssnap.Options{Provider: fssnap.Btrfs})
	case repo.ModeZeroDowntime:
		o.ZeroDowntime, o.FS = e.instance(), e.fsSnap(fssnap.Options{Provider: fssnap.Btrfs})
	}
	return o
}

// fsSnap is a filesystem snapshot of e's home with opts.
func (e *env) fsSnap(opts fssnap.Options) *FSSnap {
	opts.Home, opts.StateDir = e.home, e.fsState
	return &FSSnap{Options: opts, State: FSStateFile{Path: filepath.Join(e.fsState, "fs-snapshot.json")}}
}

// instance is the stand-in for zero-downtime mode, probed without
// credentials.
func (e *env) instance() *BitbucketInstance {
	c, err := bitbucket.New(bitbucket.Options{BaseURL: e.bb.URL(), Anonymous: true, Sleep: fastSleep})
	if err != nil {
		e.t.Fatal(err)
	}
	return &BitbucketInstance{Client: c, Logger: slog.New(slog.DiscardHandler)}
}

// assertNoFSSnapshotLeft checks that no btrfs snapshot and no record of the
// cmd provider is left.
func (e *env) assertNoFSSnapshotLeft() {
	e.t.Helper()
	entries, err := os.ReadDir(filepath.Join(e.home, ".bbvault-snapshots"))
	if err != nil && !os.IsNotExist(err) {
		e.t.Fatal(err)
	}
	records, _ := filepath.Glob(filepath.Join(e.fsState, "fssnap-*.json"))
	if len(entries) != 0 || len(records) != 0 {
		e.t.Fatalf("filesystem snapshots left: %d btrfs snapshots, records %v", len(entries), records)
	}
}

// readFile returns the content of rel in the snapshot m, "" if absent.
func (e *env) readFile(m *repo.Manifest, rel string) string {
	e.t.Helper()
	var found string
	err := treewalk.Walk(context.Background(), e.r, *m.Tree, "", nil, func(p string, n *tree.Node) error {
		if p != rel {
			return nil
		}
		r := e.r.NewStreamReader(context.Background(), n.Content)
		defer r.Close()
		b, err := io.ReadAll(r)
		found = string(b)
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return found
}

// btrfsCmd is a cmd provider that does what an administrator's own
// scripts would, with the btrfs tools: a read-only snapshot of the mounted
// volume into dir, printed; released with its record.
func btrfsCmd(dir string) fssnap.Options {
	return fssnap.Options{Provider: fssnap.Cmd,
		CreateCommand:  fmt.Sprintf(`btrfs subvolume snapshot -r "$BBVAULT_VOLUME" %s/"$BBVAULT_SNAPSHOT_NAME" >/dev/null && echo %s/"$BBVAULT_SNAPSHOT_NAME"`, dir, dir),
		ReleaseCommand: `[ -z "$BBVAULT_SNAPSHOT_PATH" ] || [ ! -e "$BBVAULT_SNAPSHOT_PATH" ] || btrfs subvolume delete "$BBVAULT_SNAPSHOT_PATH" >/dev/null`}
}

// A locked snapshot with a filesystem snapshot reads the home as it was at
// the locked moment: what changes after the unlock is not in it, however
// long the read takes. The lock is released once the snapshot is taken.
func TestFSSnapshotIsReadAfterTheUnlock(t *testing.T) {
	fs := testenv.Btrfs(t, 256<<20)
	e := newEnvAt(t, filepath.Join(fs.Dir, "home"), standin.Options{})
	props := filepath.Join(e.home, "shared", "bitbucket.properties")
	before, err := os.ReadFile(props)
	if err != nil {
		t.Fatal(err)
	}
	snaps := filepath.Join(fs.Dir, "snaps")
	if err := os.Mkdir(snaps, 0o700); err != nil {
		t.Fatal(err)
	}
	l := afterUnlock{Locker: e.locker(bbPass, 10*time.Second), fn: func() {
		os.WriteFile(props, []byte("changed after the unlock\n"), 0o644)
		os.WriteFile(filepath.Join(e.home, "shared", "after-unlock"), []byte("new\n"), 0o644)
	}}
	res, err := Snapshot(context.Background(), e.r, SnapshotOptions{Home: e.home, Lock: l, FS: e.fsSnap(btrfsCmd(snaps))})
	if err != nil {
		t.Fatal(err)
	}
	e.assertUnlocked()
	m := res.Manifest
	if got := e.readFile(m, "shared/bitbucket.properties"); got != string(before) {
		t.Errorf("bitbucket.properties in the snapshot: %q, want its content at the locked moment %q", got, before)
	}
	if got := e.readFile(m, "shared/after-unlock"); got != "" {
		t.Errorf("a file written after the unlock is in the snapshot: %q", got)
	}
	if m.Mode != repo.ModeLockedFS || m.FSSnapshot == nil || m.FSSnapshot.Provider != fssnap.Cmd {
		t.Errorf("the manifest records mode %q, filesystem snapshot %+v", m.Mode, m.FSSnapshot)
	}
	if m.Timings.LockedPass != 0 || res.Home.Files == 0 {
		t.Errorf("locked pass %d ms, frozen pass read %d files: the home must be read after the unlock", m.Timings.LockedPass, res.Home.Files)
	}
	assertEvents(t, e.bb.History(), standin.EventLock, standin.EventBackupStart, standin.EventDrained, standin.EventTaskEnd, standin.EventUnlock)
	if left, _ := os.ReadDir(snaps); len(left) != 0 {
		t.Errorf("snapshots left in %s: %v", snaps, left)
	}
	e.assertNoFSSnapshotLeft()
}

// The snapshot command fails under the lock: the run unlocks, writes no
// snapshot, and releases what the command may have made.
func TestFSSnapshotCommandFails(t *testing.T) {
	fs := testenv.Btrfs(t, 256<<20)
	e := newEnvAt(t, filepath.Join(fs.Dir, "home"), standin.Options{})
	released := filepath.Join(t.TempDir(), "released")
	opts := fssnap.Options{Provider: fssnap.Cmd,
		CreateCommand:  `echo "snapshot of $BBVAULT_VOLUME refused: no space left in the pool" >&2; exit 1`,
		ReleaseCommand: "touch " + released}
	_, err := Snapshot(context.Background(), e.r, SnapshotOptions{Home: e.home, Lock: e.locker(bbPass, 10*time.Second), FS: e.fsSnap(opts)})
	if !errors.Is(err, ErrFSSnapshot) || !strings.Contains(err.Error(), "no space left in the pool") || !strings.Contains(err.Error(), "unlocked") {
		t.Fatalf("err = %v; want the command's message and the unlock confirmed", err)
	}
	e.assertUnlocked()
	if e.snapshotCount() != 0 {
		t.Fatal("a failed filesystem snapshot wrote a snapshot")
	}
	if _, err := os.Stat(released); err != nil {
		t.Error("the release command did not run for the failed snapshot")
	}
	e.assertNoFSSnapshotLeft()
}

// A full btrfs volume still snapshots and releases (btrfs keeps a metadata
// reserve), and the backup holds what the volume holds.
func TestFSSnapshotOfAFullVolume(t *testing.T) {
	fs := testenv.Btrfs(t, 256<<20)
	e := newEnvAt(t, fs.Subvolume(t, "bitbucket"), standin.Options{})
	first, err := Snapshot(context.Background(), e.r, e.modeOptions(repo.ModeLockedFS, ""))
	if err != nil {
		t.Fatal(err)
	}
	// The frozen copy keeps the live files' inodes and times: what the
	// pre-lock pass read is not read again.
	if h := first.Home; h.BytesRead != 0 || h.Unchanged != h.Files {
		t.Errorf("the frozen pass of an unchanged home read %d bytes, reused %d of %d files", h.BytesRead, h.Unchanged, h.Files)
	}
	fillUp(t, filepath.Join(e.home, "shared", "data", "attachments", "big.bin"))
	res, err := Snapshot(context.Background(), e.r, e.modeOptions(repo.ModeLockedFS, ""))
	if err != nil {
		t.Fatalf("a snapshot of the full volume: %v", err)
	}
	fi, err := os.Stat(filepath.Join(e.home, "shared", "data", "attachments", "big.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Manifest.Counts.Bytes < fi.Size() {
		t.Errorf("the snapshot holds %d bytes, the full volume's file alone %d", res.Manifest.Counts.Bytes, fi.Size())
	}
	e.assertUnlocked()
	e.assertNoFSSnapshotLeft()
}

// fillUp writes zeros into path until the filesystem is full.
func fillUp(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return
		}
	}
}

// Zero-downtime mode refuses a Bitbucket older than 4.8 before anything,
// the filesystem snapshot's checks included.
func TestZeroDowntimeRefusesOldBitbucket(t *testing.T) {
	e := newEnv(t, standin.Options{Version: "4.7.2"})
	_, err := Snapshot(context.Background(), e.r, SnapshotOptions{Home: e.home, ZeroDowntime: e.instance(),
		FS: e.fsSnap(fssnap.Options{Provider: fssnap.Btrfs})}) // the home is not on btrfs: Prepare would fail
	if !errors.Is(err, ErrBitbucket) || !strings.Contains(err.Error(), "4.7.2") || !strings.Contains(err.Error(), "4.8.0") {
		t.Fatalf("err = %v; want Bitbucket 4.7.2 refused, naming 4.8.0", err)
	}
	if e.everLocked() || e.snapshotCount() != 0 {
		t.Fatal("a refused zero-downtime run locked the instance or wrote a snapshot")
	}
	_, err = Snapshot(context.Background(), e.r, SnapshotOptions{Home: e.home, ZeroDowntime: e.instance()})
	if err == nil || !strings.Contains(err.Error(), "filesystem snapshot") {
		t.Fatalf("zero downtime without a filesystem snapshot: %v", err)
	}
}

// A schema change that lands between the export and pg_dump's locks (an
// upgrade started right after the unlock) fails the run when the instance
// was let go at the export: the dump could hold a table emptied by it.
func TestSchemaChangeBeforePgDumpsLocksFailsTheRun(t *testing.T) {
	ctx := context.Background()
	e, _, dsn := newDBEnv(t, time.Hour)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	mustExec(t, conn, `CREATE TABLE sta_activity (id bigserial PRIMARY KEY, body text);
		INSERT INTO sta_activity (body) SELECT md5(g::text) FROM generate_series(1, 1000) g`)
	upgrade, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer upgrade.Rollback(ctx)
	if _, err := upgrade.Exec(ctx, `LOCK TABLE sta_activity IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	l := afterUnlock{Locker: e.locker(bbPass, 10*time.Second), fn: func() {
		if _, err := upgrade.Exec(ctx, `TRUNCATE sta_activity`); err != nil {
			t.Error(err)
		}
		if err := upgrade.Commit(ctx); err != nil {
			t.Error(err)
		}
	}}
	_, err = Snapshot(ctx, e.r, SnapshotOptions{Home: e.home, Lock: l, Database: e.database(dsn)})
	if !errors.Is(err, ErrDatabase) || !strings.Contains(err.Error(), "schema changed") {
		t.Fatalf("err = %v; want the schema change caught", err)
	}
	e.assertUnlocked()
	if e.snapshotCount() != 0 {
		t.Fatal("a dump that may have lost a table's rows was kept")
	}
}
