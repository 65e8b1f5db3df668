package standin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"

	"github.com/jackc/pgx/v5"
)

// CheckConsistent verifies that a home and a database were captured at the
// same moment: for every repository with pushes recorded in the database,
// refs/heads/master in the home points at the commit of its last recorded
// push. Run on a restored home and database, it proves the backup was
// consistent; it reports every repository that disagrees.
func CheckConsistent(ctx context.Context, home, dsn string) error {
	return checkPushes(ctx, home, dsn, git.checkPush)
}

// CheckNotBehind verifies what a backup without the maintenance lock
// (zero downtime) promises: the home is never behind the database. For
// every repository with pushes recorded in the database, the commit of its
// last recorded push is refs/heads/master or an ancestor of it (pushes
// between the database's snapshot and the filesystem's make it newer).
func CheckNotBehind(ctx context.Context, home, dsn string) error {
	return checkPushes(ctx, home, dsn, git.checkNotBehind)
}

// checkPushes runs check on the last recorded push of every repository.
func checkPushes(ctx context.Context, home, dsn string, check func(git, context.Context, string, push) error) error {
	bin, err := exec.LookPath("git")
	if err != nil {
		return fmt.Errorf("standin: checking consistency needs git: %w", err)
	}
	last, err := lastPushes(ctx, dsn)
	if err != nil {
		return err
	}
	g := git{bin: bin}
	var errs []error
	for _, p := range last {
		errs = append(errs, check(g, ctx, home, p))
	}
	return errors.Join(errs...)
}

type push struct {
	repoID int
	ref    string
	commit string
}

// lastPushes returns the last recorded push of each repository.
func lastPushes(ctx context.Context, dsn string) ([]push, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("standin: connecting to the database: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	err = conn.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, PushesTable).Scan(&exists)
	if err != nil {
		return nil, fmt.Errorf("standin: looking for %s: %w", PushesTable, err)
	}
	if !exists {
		return nil, fmt.Errorf("standin: the database has no table %s: it was not written by the stand-in, or the restore lost it", PushesTable)
	}
	rows, _ := conn.Query(ctx, `SELECT DISTINCT ON (repo_id) repo_id, ref, commit
		FROM `+PushesTable+` ORDER BY repo_id, seq DESC`)
	pushes, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (push, error) {
		var p push
		return p, row.Scan(&p.repoID, &p.ref, &p.commit)
	})
	if err != nil {
		return nil, fmt.Errorf("standin: reading %s: %w", PushesTable, err)
	}
	return pushes, nil
}

// checkPush compares a repository's ref with its last recorded push.
func (g git) checkPush(ctx context.Context, home string, p push) error {
	dir := repoDir(home, p.repoID)
	if _, err := os.Stat(dir); err != nil {
		return fmt.Errorf("repository %d has recorded pushes but is missing from the home: %w", p.repoID, err)
	}
	return g.checkRef(ctx, dir, p)
}

// checkRef compares the ref of the repository at dir with p.
func (g git) checkRef(ctx context.Context, dir string, p push) error {
	got, err := g.run(ctx, dir, "", "for-each-ref", "--format=%(objectname)", p.ref)
	if err != nil {
		return fmt.Errorf("repository %d: %w", p.repoID, err)
	}
	if got != p.commit {
		return fmt.Errorf("repository %d: %s is %q but the last push recorded in the database is %s (in %s)",
			p.repoID, p.ref, got, p.commit, dir)
	}
	return nil
}

// checkNotBehind checks that a repository's ref holds its last recorded push.
func (g git) checkNotBehind(ctx context.Context, home string, p push) error {
	dir := repoDir(home, p.repoID)
	if _, err := os.Stat(dir); err != nil {
		return fmt.Errorf("repository %d has recorded pushes but is missing from the home: %w", p.repoID, err)
	}
	if _, err := g.run(ctx, dir, "", "merge-base", "--is-ancestor", p.commit, p.ref); err != nil {
		return fmt.Errorf("repository %d: the last push recorded in the database, %s, is not in %s: the home is behind the database: %w",
			p.repoID, p.commit, p.ref, err)
	}
	return nil
}
