package flow

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"bbvault/internal/backend/local"
	"bbvault/internal/crypto"
	"bbvault/internal/repo"
	"bbvault/test/standin"
	"bbvault/test/testenv"
)

// BenchmarkLockWindow measures how long Bitbucket stays locked (the
// stand-in drains in 500 ms) for a home of many small files on btrfs and a
// database of Bitbucket's shape (200 tables and one big one), in each mode:
// the home read under the lock, a btrfs snapshot taken under the lock, and
// zero downtime (no lock: it reports the time from the database's snapshot
// to the filesystem's). Each mode gets a repository of its own: an initial
// snapshot, then one after a day of work (3% of the files changed, 1% new).
//
// Sizes come from the environment: BBVAULT_BENCH_FILES (default "10000", a
// size that keeps `make bench-smoke` short), BBVAULT_BENCH_DB_MB (default
// 64). The figures in docs/filesystem-snapshots.md come from
//
//	BBVAULT_BENCH_FILES=100000,1000000 BBVAULT_BENCH_DB_MB=1024 \
//	  go test ./internal/flow -run '^$' -bench 'LockWindow$' -benchtime 1x -timeout 4h
func BenchmarkLockWindow(b *testing.B) {
	files := benchSizes(b, "BBVAULT_BENCH_FILES", "10000")
	dbMB := benchSizes(b, "BBVAULT_BENCH_DB_MB", "64")[0]
	pg := testenv.Postgres(b)
	dsn := pg.DSN(pg.NewDB(b))
	t0 := time.Now()
	fillBenchDB(b, dsn, dbMB)
	b.Logf("database of %d MiB made in %s", dbMB, time.Since(t0).Round(time.Second))
	for _, n := range files {
		b.Run("files="+strconv.Itoa(n), func(b *testing.B) { benchWindowFiles(b, n, dsn) })
	}
}

func benchSizes(b *testing.B, env, def string) []int {
	v := os.Getenv(env)
	if v == "" {
		v = def
	}
	var out []int
	for f := range strings.SplitSeq(v, ",") {
		n, err := strconv.Atoi(f)
		if err != nil {
			b.Fatalf("%s=%q: %v", env, v, err)
		}
		out = append(out, n)
	}
	return out
}

func benchWindowFiles(b *testing.B, n int, dsn string) {
	fs := testenv.Btrfs(b, int64(n)*8<<10+2<<30) // metadata of small files, DUP
	home := fs.Subvolume(b, "bitbucket")
	t0 := time.Now()
	writeBenchHome(b, home, 0, n)
	b.Logf("%d files made in %s", n, time.Since(t0).Round(time.Second))
	for _, mode := range []string{repo.ModeLocked, repo.ModeLockedFS, repo.ModeZeroDowntime} {
		b.Run("mode="+mode, func(b *testing.B) {
			for b.Loop() {
				benchWindowMode(b, home, n, mode, dsn)
			}
		})
	}
}

// benchWindowMode takes the initial and the day-of-work snapshot in mode
// into a new repository and reports their lock windows.
func benchWindowMode(b *testing.B, home string, n int, mode, dsn string) {
	e := newBenchEnv(b, home)
	for i, phase := range []string{"initial", "day"} {
		if i == 1 {
			writeBenchHome(b, home, 0, n/33)    // 3% changed
			writeBenchHome(b, home, n, n+n/100) // 1% new
		}
		res, err := Snapshot(b.Context(), e.r, e.modeOptions(mode, dsn))
		if err != nil {
			b.Fatal(err)
		}
		t := res.Manifest.Timings
		if mode == repo.ModeZeroDowntime {
			b.ReportMetric(float64(t.DatabaseToFS), phase+"-db-to-fs-ms")
			continue
		}
		b.ReportMetric(float64(res.LockWindow.Milliseconds()), phase+"-window-ms")
		b.Logf("%s %s: window %d ms (drain %d, locked pass %d, fs snapshot %d, database %d); frozen pass %d ms, total %d ms",
			mode, phase, res.LockWindow.Milliseconds(), t.LockAndDrain, t.LockedPass, t.FSSnapshot, t.DatabaseUnderLock,
			t.FrozenPass, t.Total)
	}
}

// newBenchEnv is an env over home with a fresh repository and a stand-in
// draining in 500 ms.
func newBenchEnv(b *testing.B, home string) *env {
	ctx := context.Background()
	e := &env{t: b, home: home, fsState: b.TempDir()}
	be, err := local.Create(filepath.Join(b.TempDir(), "repo"))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := repo.Init(ctx, be, []byte("pw"), repo.InitOptions{KDF: crypto.KDFParams{N: 1024, R: 8, P: 1}}); err != nil {
		b.Fatal(err)
	}
	if e.r, err = repo.Open(ctx, be, []byte("pw"), repo.OpenOptions{CacheDir: b.TempDir()}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.r.Close() })
	e.bb = standin.New(standin.Options{User: bbUser, Password: bbPass, DBDrainTime: 500 * time.Millisecond,
		SCMDrainTime: 500 * time.Millisecond})
	if err := e.bb.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.bb.Close() })
	e.state = StateFile{Path: filepath.Join(b.TempDir(), "lock.json")}
	return e
}

// writeBenchHome writes the files numbered from to to-1, 256 random bytes
// each, 1,000 per directory, and syncs.
func writeBenchHome(b *testing.B, home string, from, to int) {
	data := make([]byte, 256)
	for i := from; i < to; i++ {
		dir := filepath.Join(home, "shared", "data", "repositories", strconv.Itoa(i/1000))
		if i == from || i%1000 == 0 {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				b.Fatal(err)
			}
		}
		rand.Read(data)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("obj%07d", i)), data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	syscall.Sync()
}

// fillBenchDB makes 200 small tables (Bitbucket has about that many) and
// one of mb MiB.
func fillBenchDB(b *testing.B, dsn string, mb int) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	var sql strings.Builder
	for i := range 200 {
		fmt.Fprintf(&sql, `CREATE TABLE sta_t%d (id bigserial PRIMARY KEY, project_id int, name text);
CREATE INDEX sta_t%d_project ON sta_t%d (project_id);
INSERT INTO sta_t%d (project_id, name) SELECT g %% 10, md5(g::text) FROM generate_series(1, 50) g;
`, i, i, i, i)
	}
	// 1 KiB of incompressible-looking text per row.
	fmt.Fprintf(&sql, `CREATE TABLE sta_activity (id bigint PRIMARY KEY, body text);
INSERT INTO sta_activity SELECT g, (SELECT string_agg(md5(g::text || k::text), '') FROM generate_series(1, 32) k)
FROM generate_series(1, %d) g;`, mb*1024)
	if _, err := conn.Exec(ctx, sql.String()); err != nil {
		b.Fatal(err)
	}
}
