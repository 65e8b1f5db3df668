package drill

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"bbvault/internal/dbstream"
)

// prStateOpen is sta_pull_request.pr_state of an open pull request.
const prStateOpen = 0

// repoRow is one row of Bitbucket's repository table.
type repoRow struct {
	ID        int
	Origin    int    // the repository it was forked from; 0 for none
	Hierarchy string // the fork hierarchy it belongs to; "" when unknown
}

// pullRequest is an open pull request: the repository that holds its refs
// and its ID there.
type pullRequest struct {
	Repo     int
	ScopedID int64
}

// catalog is what the database says the home must hold.
type catalog struct {
	repos    map[int]repoRow
	prs      []pullRequest
	problems []Problem // tables the checks could not read
}

// readCatalog reads the repository table and the open pull requests of the
// restored database.
func readCatalog(ctx context.Context, dsn string) (*catalog, error) {
	conn, err := dbstream.Connect(ctx, dsn, "bbvault-drill")
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	c := &catalog{repos: map[int]repoRow{}}
	cols, err := columns(ctx, conn, "repository")
	if err != nil {
		return nil, err
	}
	if !slices.Contains(cols, "id") {
		return nil, fmt.Errorf("the restored database has no table repository with a column id: " +
			"is it Bitbucket's database?")
	}
	if err := c.readRepos(ctx, conn, cols); err != nil {
		return nil, err
	}
	return c, c.readPullRequests(ctx, conn)
}

// columns lists the columns of a table on the search path; none when the
// table is not there.
func columns(ctx context.Context, conn *pgx.Conn, table string) ([]string, error) {
	rows, err := conn.Query(ctx, `SELECT column_name::text FROM information_schema.columns
		WHERE table_name = $1 AND table_schema = ANY (current_schemas(false))`, table)
	if err != nil {
		return nil, fmt.Errorf("reading the columns of %s: %w", table, err)
	}
	cols, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("reading the columns of %s: %w", table, err)
	}
	return cols, nil
}

// readRepos reads every repository row, with the fork columns the schema
// has (origin_id and hierarchy_id in every Bitbucket version since forks).
func (c *catalog) readRepos(ctx context.Context, conn *pgx.Conn, cols []string) error {
	origin, hierarchy := "0", "''"
	if slices.Contains(cols, "origin_id") {
		origin = "coalesce(origin_id, 0)"
	}
	if slices.Contains(cols, "hierarchy_id") {
		hierarchy = "coalesce(trim(hierarchy_id::text), '')"
	}
	rows, err := conn.Query(ctx, "SELECT id, "+origin+", "+hierarchy+" FROM repository")
	if err != nil {
		return fmt.Errorf("reading the repository table: %w", err)
	}
	list, err := pgx.CollectRows(rows, pgx.RowToStructByPos[repoRow])
	if err != nil {
		return fmt.Errorf("reading the repository table: %w", err)
	}
	for _, r := range list {
		c.repos[r.ID] = r
	}
	return nil
}

// readPullRequests reads the open pull requests; a schema without them is
// a warning, not a failure.
func (c *catalog) readPullRequests(ctx context.Context, conn *pgx.Conn) error {
	cols, err := columns(ctx, conn, "sta_pull_request")
	if err != nil {
		return err
	}
	if !slices.Contains(cols, "to_repository_id") || !slices.Contains(cols, "scoped_id") || !slices.Contains(cols, "pr_state") {
		c.problems = append(c.problems, Problem{Kind: KindSchema, Class: Warning, Table: "sta_pull_request",
			Message: "not found (or without to_repository_id, scoped_id, pr_state): pull-request refs not checked"})
		return nil
	}
	rows, err := conn.Query(ctx, "SELECT to_repository_id, scoped_id FROM sta_pull_request WHERE pr_state = $1", prStateOpen)
	if err != nil {
		return fmt.Errorf("reading the open pull requests: %w", err)
	}
	c.prs, err = pgx.CollectRows(rows, pgx.RowToStructByPos[pullRequest])
	if err != nil {
		return fmt.Errorf("reading the open pull requests: %w", err)
	}
	return nil
}

// inHierarchy reports whether repository target is one fork is allowed to
// borrow objects from: an ancestor along origin_id, or a repository of the
// same fork hierarchy.
func (c *catalog) inHierarchy(fork, target int) bool {
	f, ok := c.repos[fork]
	if !ok {
		return false
	}
	if t, ok := c.repos[target]; ok && f.Hierarchy != "" && t.Hierarchy == f.Hierarchy {
		return true
	}
	seen := map[int]bool{}
	for cur := f.Origin; cur != 0 && !seen[cur]; cur = c.repos[cur].Origin {
		if cur == target {
			return true
		}
		seen[cur] = true
	}
	return false
}
