package dbgen

import (
	"context"
	"fmt"
)

// HomeRepo is a repository of a generated home, as the database should
// know it.
type HomeRepo struct {
	ID     int
	Origin int // the repository a fork borrows its objects from; 0 for none
}

// MatchHome makes a generated database agree with a generated home, as a
// real instance's database agrees with its home (the restore drill checks
// that): one repository row per repository of the home, forks with the
// origin_id and hierarchy of their origin, and exactly the pull requests
// 1..prs open, into refsRepo, whose refs/pull-requests/N/from the home
// holds (homegen writes them); the others are merged. Pull requests that
// named a repository the home lacks are moved to one it has.
func MatchHome(ctx context.Context, dsn string, repos []HomeRepo, refsRepo int, prs int) error {
	conn, err := connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	ids := make([]int, len(repos))
	origins := make([]int, len(repos))
	for i, r := range repos {
		ids[i], origins[i] = r.ID, r.Origin
	}
	n := len(repos)
	steps := []struct {
		sql  string
		args []any
	}{
		{`DELETE FROM repository WHERE id <> ALL ($1::int[])`, []any{ids}},
		{`INSERT INTO repository SELECT i, 'repo-' || i, 'Repository ' || i, 1, 'git', 1, 'Available', true, false, NULL,
		   substr(md5(i::text), 1, 20) FROM unnest($1::int[]) AS i WHERE i NOT IN (SELECT id FROM repository)`, []any{ids}},
		{`UPDATE repository r SET origin_id = NULLIF(m.origin, 0) FROM unnest($1::int[], $2::int[]) AS m(id, origin)
		  WHERE r.id = m.id`, []any{ids, origins}},
		{`UPDATE repository r SET hierarchy_id = o.hierarchy_id FROM repository o WHERE r.origin_id = o.id`, nil},
		{`UPDATE sta_pull_request SET
		    pr_state = CASE WHEN scoped_id <= $1 THEN 0 ELSE 1 END,
		    to_repository_id = CASE WHEN scoped_id <= $1 THEN $2 ELSE 1 + (to_repository_id - 1) % $3 END,
		    from_repository_id = CASE WHEN scoped_id <= $1 THEN $2 ELSE 1 + (from_repository_id - 1) % $3 END`,
			[]any{prs, refsRepo, n}},
		{`ANALYZE repository; ANALYZE sta_pull_request`, nil},
	}
	for _, s := range steps {
		if _, err := conn.Exec(ctx, s.sql, s.args...); err != nil {
			return fmt.Errorf("dbgen: matching the home: %w", err)
		}
	}
	return nil
}
