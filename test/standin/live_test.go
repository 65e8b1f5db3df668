package standin_test

import (
	"context"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"bbvault/internal/bitbucket"
	"bbvault/test/standin"
	"bbvault/test/testenv"
)

func TestMakeHome(t *testing.T) {
	gitBin := testenv.Git(t)
	home := t.TempDir()
	if err := standin.MakeHome(t.Context(), home, 3); err != nil {
		t.Fatal(err)
	}
	heads := masterHeads(t, gitBin, home)
	if len(heads) != 3 {
		t.Fatalf("heads %v: want 3 repositories with a master branch", heads)
	}
	if _, err := os.Stat(filepath.Join(home, "shared", "bitbucket.properties")); err != nil {
		t.Errorf("the sample home has no bitbucket.properties: %v", err)
	}
	if err := standin.MakeHome(t.Context(), home, 1); err == nil {
		t.Error("MakeHome over a home that has repositories succeeded")
	}
	if err := standin.MakeHome(t.Context(), t.TempDir(), 0); err == nil {
		t.Error("MakeHome with no repositories succeeded")
	}
}

// masterHeads returns refs/heads/master of every repository of home, by id,
// read with git itself.
func masterHeads(t *testing.T, gitBin, home string) map[int]string {
	t.Helper()
	dir := filepath.Join(home, "shared", "data", "repositories")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	heads := map[int]string{}
	for _, e := range entries {
		id, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		heads[id] = gitOut(t, gitBin, filepath.Join(dir, e.Name()), "", "rev-parse", "--verify", "refs/heads/master")
	}
	return heads
}

func gitOut(t *testing.T, gitBin, gitDir, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), gitBin, append([]string{"--git-dir=" + gitDir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %v: %v", args, err)
	}
	return strings.TrimSpace(string(out))
}

func pushCount(t *testing.T, db *pgx.Conn) int {
	t.Helper()
	var n int
	if err := db.QueryRow(t.Context(), "SELECT count(*) FROM "+standin.PushesTable).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A live stand-in pushes while unlocked, stops before it reports DRAINED,
// resumes after the unlock, and its home and database agree throughout.
func TestLivePushing(t *testing.T) {
	gitBin := testenv.Git(t)
	pg := testenv.Postgres(t)
	dsn := pg.DSN(pg.NewDB(t))
	home := t.TempDir()
	ctx := t.Context()
	if err := standin.MakeHome(ctx, home, 3); err != nil {
		t.Fatal(err)
	}
	initial := masterHeads(t, gitBin, home)
	srv := start(t, standin.Options{Home: home, DSN: dsn, PushInterval: pushInterval,
		DBDrainTime: 20 * time.Millisecond, SCMDrainTime: 50 * time.Millisecond})
	db, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.WithoutCancel(ctx))
	waitFor(t, "pushes to every repository", func() bool { return pushCount(t, db) >= 9 })

	c, err := bitbucket.New(bitbucket.Options{BaseURL: srv.URL(), User: user, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	lock := lockDrained(t, c)
	drainedCount := checkFrozen(t, gitBin, home, db, initial)
	if err := standin.CheckConsistent(ctx, home, dsn); err != nil {
		t.Fatalf("CheckConsistent on the drained instance: %v", err)
	}
	if err := c.Finish(ctx, lock.UnlockToken); err != nil {
		t.Fatal(err)
	}
	if err := c.Unlock(ctx, lock.UnlockToken); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "pushes to resume after the unlock", func() bool { return pushCount(t, db) > drainedCount })

	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if n, err := srv.Pushes(); err != nil || n != pushCount(t, db) {
		t.Fatalf("the stand-in made %d pushes (last error %v); the database holds %d", n, err, pushCount(t, db))
	}
	if err := standin.CheckConsistent(ctx, home, dsn); err != nil {
		t.Fatalf("CheckConsistent after a clean stop: %v", err)
	}
	checkDetectsDisagreement(t, gitBin, home, dsn, db)
}

const pushInterval = 5 * time.Millisecond

// lockDrained locks, starts a backup and waits for the drain.
func lockDrained(t *testing.T, c *bitbucket.Client) bitbucket.LockInfo {
	t.Helper()
	lock, err := c.Lock(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.StartBackup(t.Context(), lock.UnlockToken); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitDrained(t.Context(), lock.UnlockToken, 10*time.Second, nil); err != nil {
		t.Fatal(err)
	}
	return lock
}

// checkFrozen checks that every repository moved since initial, and that
// neither git nor the database move any more; it returns the rows recorded.
func checkFrozen(t *testing.T, gitBin, home string, db *pgx.Conn, initial map[int]string) int {
	t.Helper()
	heads, rows := masterHeads(t, gitBin, home), pushCount(t, db)
	for id, head := range heads {
		if head == initial[id] {
			t.Errorf("repository %d got no push while live", id)
		}
	}
	time.Sleep(20 * pushInterval) // time for pushes that must not happen
	if later := masterHeads(t, gitBin, home); !maps.Equal(later, heads) || pushCount(t, db) != rows {
		t.Fatalf("pushes went on under the lock: heads %v -> %v, rows %d -> %d", heads, later, rows, pushCount(t, db))
	}
	return rows
}

// checkDetectsDisagreement breaks the agreement both ways a badly timed
// backup would: git ahead of the database, and the database ahead of git.
func checkDetectsDisagreement(t *testing.T, gitBin, home, dsn string, db *pgx.Conn) {
	ctx := t.Context()
	repo1 := filepath.Join(home, "shared", "data", "repositories", "1")
	head := gitOut(t, gitBin, repo1, "", "rev-parse", "refs/heads/master")
	tree := gitOut(t, gitBin, repo1, "", "rev-parse", head+"^{tree}")
	unrecorded := gitOut(t, gitBin, repo1, "", "commit-tree", tree, "-p", head, "-m", "a push the database never saw")
	gitOut(t, gitBin, repo1, "", "update-ref", "refs/heads/master", unrecorded, head)
	err := standin.CheckConsistent(ctx, home, dsn)
	if err == nil || !strings.Contains(err.Error(), "repository 1:") {
		t.Fatalf("CheckConsistent with git ahead of the database: %v; want repository 1 reported", err)
	}
	if err := standin.CheckNotBehind(ctx, home, dsn); err != nil {
		t.Fatalf("CheckNotBehind with git ahead of the database (what zero downtime allows): %v", err)
	}
	gitOut(t, gitBin, repo1, "", "update-ref", "refs/heads/master", head, unrecorded)

	_, err = db.Exec(ctx, "INSERT INTO "+standin.PushesTable+" (repo_id, ref, commit) VALUES (2, 'refs/heads/master', $1)",
		strings.Repeat("ab", 20))
	if err != nil {
		t.Fatal(err)
	}
	err = standin.CheckConsistent(ctx, home, dsn)
	if err == nil || !strings.Contains(err.Error(), "repository 2:") || strings.Contains(err.Error(), "repository 1:") {
		t.Fatalf("CheckConsistent with the database ahead of git: %v; want repository 2 reported, and only it", err)
	}
	err = standin.CheckNotBehind(ctx, home, dsn)
	if err == nil || !strings.Contains(err.Error(), "repository 2:") || strings.Contains(err.Error(), "repository 1:") {
		t.Fatalf("CheckNotBehind with the database ahead of git: %v; want repository 2 reported, and only it", err)
	}
}

func TestCheckConsistentNeedsTheTable(t *testing.T) {
	pg := testenv.Postgres(t)
	dsn := pg.DSN(pg.NewDB(t))
	err := standin.CheckConsistent(t.Context(), t.TempDir(), dsn)
	if err == nil || !strings.Contains(err.Error(), standin.PushesTable) {
		t.Fatalf("CheckConsistent on an empty database: %v; want the missing table named", err)
	}
}
