package dbgen

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// churnShare is the share of rows a day appends to the activity tables.
const churnShare = 0.005

// appendTables grow every day; the others only change.
var appendTables = map[string]bool{"sta_activity": true, "sta_pr_activity": true, "sta_comment": true,
	"changeset": true, "cs_repo_membership": true, "sta_repo_push_ref": true}

// dayUpdates edit rows in place: about 1% of pull requests, 0.2% of
// comments, 5% of users; which rows depends on the day.
var dayUpdates = []string{
	`UPDATE sta_pull_request SET pr_state = (pr_state + 1) % 3, entity_version = entity_version + 1,
	   updated_timestamp = updated_timestamp + interval '1 day' WHERE id % 100 = $1 % 100`,
	`UPDATE sta_comment SET comment_text = comment_text || ' (edited)', entity_version = entity_version + 1
	   WHERE id % 500 = $1 % 500`,
	`UPDATE cwd_user SET updated_date = updated_date + interval '1 day' WHERE id % 20 = $1 % 20`,
}

// ChurnSummary says what a day of churn changed.
type ChurnSummary struct {
	Day      int           `json:"day"`
	Inserted int64         `json:"inserted"`
	Updated  int64         `json:"updated"`
	Took     time.Duration `json:"took_ns"`
}

// Churn plays day of work on a database Generate filled: new activities,
// comments, changesets and push refs, and edits to pull requests,
// comments and users.
func Churn(ctx context.Context, o Options, day int) (ChurnSummary, error) {
	o = o.withDefaults()
	start := time.Now()
	conn, err := connect(ctx, o.DSN)
	if err != nil {
		return ChurnSummary{}, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	counts, err := currentCounts(ctx, conn)
	if err != nil {
		return ChurnSummary{}, err
	}
	s := ChurnSummary{Day: day}
	for _, t := range tables {
		if !appendTables[t.name] {
			continue
		}
		n := max(10, int64(float64(counts[t.name])*churnShare))
		if err := load(ctx, conn, t, counts[t.name]+1, counts[t.name]+n, counts); err != nil {
			return s, err
		}
		s.Inserted += n
	}
	for _, sql := range dayUpdates {
		tag, err := conn.Exec(ctx, sql, day)
		if err != nil {
			return s, fmt.Errorf("dbgen: day %d: %w", day, err)
		}
		s.Updated += tag.RowsAffected()
	}
	s.Took = time.Since(start)
	o.Logger.Info("database churned", "day", day, "inserted", s.Inserted, "updated", s.Updated)
	return s, nil
}

// currentCounts counts the rows of every table. Rows are appended with
// consecutive numbers, so the count is also the last number used.
func currentCounts(ctx context.Context, conn *pgx.Conn) (map[string]int64, error) {
	counts := map[string]int64{}
	for _, t := range tables {
		var n int64
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{t.name}.Sanitize()).Scan(&n); err != nil {
			return nil, fmt.Errorf("dbgen: count %s: %w", t.name, err)
		}
		counts[t.name] = n
	}
	return counts, nil
}
