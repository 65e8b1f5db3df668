package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"bbvault/internal/backend/local"
	"bbvault/internal/flow"
	"bbvault/internal/repo"
)

// Exit codes of the drill (the README's table).
const (
	exitDamaged      = 9
	exitInconsistent = 11
)

// fault changes the live home or database, and undo puts it back.
type fault struct {
	name  string
	want  int
	plant func(ctx context.Context, b *bench) (undo func() error, err error)
}

var faults = []fault{
	{"a repository directory removed", exitInconsistent, removeRepo},
	{"a row without a directory", exitInconsistent, addRow},
	{"a fork's alternates pointing nowhere", exitInconsistent, breakAlternates},
	{"a corrupt object in one repository", exitDamaged, corruptObject},
}

// plantFaults drills a snapshot of each fault, then a snapshot whose
// recorded row counts say a table lost rows.
func (b *bench) plantFaults(ctx context.Context) error {
	for _, f := range faults {
		undo, err := f.plant(ctx, b)
		if err != nil {
			return fmt.Errorf("planting %s: %w", f.name, err)
		}
		err = b.snapshot(ctx)
		if err == nil {
			err = b.drill(ctx, f.name, f.want)
		}
		if uerr := undo(); err == nil {
			err = uerr
		}
		if err != nil {
			return err
		}
	}
	if err := b.snapshot(ctx); err != nil { // the faults undone
		return err
	}
	id, err := b.tamperRows(ctx, "public.sta_comment", 100)
	if err != nil {
		return err
	}
	return b.drill(ctx, "a table with rows missing", exitDamaged, id)
}

// plainRepos are the repositories that are no fork, no fork's origin, and
// not the one holding the pull-request refs: a fault in one stays its own.
func (b *bench) plainRepos() ([]int, error) {
	repos, refs, err := scanHome(b.home)
	if err != nil {
		return nil, err
	}
	origins := map[int]bool{}
	for _, r := range repos {
		origins[r.Origin] = true
	}
	var out []int
	for _, r := range repos {
		if r.Origin == 0 && !origins[r.ID] && r.ID != refs {
			out = append(out, r.ID)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no plain repository in the home")
	}
	return out, nil
}

func (b *bench) repoDir(id int) string {
	return filepath.Join(b.home, "shared", "data", "repositories", strconv.Itoa(id))
}

func removeRepo(_ context.Context, b *bench) (func() error, error) {
	ids, err := b.plainRepos()
	if err != nil {
		return nil, err
	}
	id := ids[0]
	aside := filepath.Join(b.work, "aside")
	if err := os.Rename(b.repoDir(id), aside); err != nil {
		return nil, err
	}
	return func() error { return os.Rename(aside, b.repoDir(id)) }, nil
}

func addRow(ctx context.Context, b *bench) (func() error, error) {
	if err := b.sql(ctx, "INSERT INTO repository SELECT 100000, 'ghost', 'Ghost', 1, 'git', 1, 'Available', true, false, NULL, 'ghost'"); err != nil {
		return nil, err
	}
	return func() error { return b.sql(context.WithoutCancel(ctx), "DELETE FROM repository WHERE id = 100000") }, nil
}

func breakAlternates(_ context.Context, b *bench) (func() error, error) {
	repos, _, err := scanHome(b.home)
	if err != nil {
		return nil, err
	}
	for _, r := range repos {
		if r.Origin != 0 {
			return replaceFile(filepath.Join(b.repoDir(r.ID), "objects", "info", "alternates"),
				func([]byte) []byte { return []byte("/srv/gone/objects\n") })
		}
	}
	return nil, errors.New("no fork in the home")
}

// corruptObject garbles the commit at the tip of master in a repository
// where it is a loose object (a recent push), as a bad disk would.
func corruptObject(ctx context.Context, b *bench) (func() error, error) {
	ids, err := b.plainRepos()
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		out, err := exec.CommandContext(ctx, "git", "--git-dir="+b.repoDir(id), "rev-parse", "refs/heads/master").Output()
		if err != nil {
			return nil, err
		}
		sha := strings.TrimSpace(string(out))
		path := filepath.Join(b.repoDir(id), "objects", sha[:2], sha[2:])
		if _, err := os.Stat(path); err != nil {
			continue
		}
		return replaceFile(path, func(data []byte) []byte {
			out := append([]byte(nil), data...)
			for i := len(out) / 3; i < len(out)/3+8; i++ {
				out[i] ^= 0x5a
			}
			return out
		})
	}
	return nil, errors.New("no repository whose master is a loose commit")
}

// replaceFile rewrites path with change and returns how to put it back.
func replaceFile(path string, change func([]byte) []byte) (func() error, error) {
	old, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, change(old), 0o644); err != nil {
		return nil, err
	}
	return func() error {
		return errors.Join(os.WriteFile(path, old, 0o644), os.Chmod(path, fi.Mode().Perm()))
	}, nil
}

// sql runs statements in the live database.
func (b *bench) sql(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, b.pg.DSN(liveDB))
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, sql)
	return err
}

// openRepo opens the benchmark's repository in-process.
func (b *bench) openRepo(ctx context.Context) (*repo.Repository, error) {
	be, err := local.Open(filepath.Join(b.work, "repo"))
	if err != nil {
		return nil, err
	}
	return repo.Open(ctx, be, []byte("bench"), repo.OpenOptions{CacheDir: filepath.Join(b.work, "cache-bench")})
}

// rowCountMs is how long the latest snapshot's dump took to count its rows.
func rowCountMs(ctx context.Context, b *bench) (int64, error) {
	r, err := b.openRepo(ctx)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	m, err := r.FindSnapshot(ctx, "latest")
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(flow.DatabaseOf(m).Meta["row_count_ms"], 10, 64)
}

// tamperRows saves a copy of the latest snapshot whose dump claims table
// held extra more rows: after a restore, that many rows are missing. It
// returns the copy's ID.
func (b *bench) tamperRows(ctx context.Context, table string, extra int64) (string, error) {
	r, err := b.openRepo(ctx)
	if err != nil {
		return "", err
	}
	defer r.Close()
	m, err := r.FindSnapshot(ctx, "latest")
	if err != nil {
		return "", err
	}
	c := *m
	c.Streams = append([]repo.Stream(nil), m.Streams...)
	db := &c.Streams[len(c.Streams)-1]
	db.Meta = maps.Clone(db.Meta)
	n, err := strconv.ParseInt(db.Meta["rows:"+table], 10, 64)
	if err != nil || !strings.HasPrefix(db.Name, flow.DatabaseStream) {
		return "", fmt.Errorf("the snapshot recorded no rows of %s", table)
	}
	db.Meta["rows:"+table] = strconv.FormatInt(n+extra, 10)
	return r.SaveSnapshot(ctx, &c)
}
