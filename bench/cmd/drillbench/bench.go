package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"bbvault/bench/internal/dbgen"
	"bbvault/bench/internal/homegen"
	"bbvault/bench/internal/units"
	"bbvault/test/servers"
)

const liveDB = "bitbucket"

// bench is one run: the server, the data and the bbvault binary.
type bench struct {
	c    config
	work string
	home string
	pg   *servers.Postgres
	bin  string
	env  []string
}

func start(ctx context.Context, c config) (*bench, error) {
	bin, err := filepath.Abs(c.bbvault)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("%s: %w (run make build)", c.bbvault, err)
	}
	work, err := servers.NewDir("drill")
	if err != nil {
		return nil, err
	}
	b := &bench{c: c, work: work, home: filepath.Join(work, "home"), bin: bin}
	if b.pg, err = servers.StartPostgres(ctx, servers.PostgresOptions{}); err != nil {
		return nil, errors.Join(err, os.RemoveAll(work))
	}
	b.env = append(os.Environ(), b.pg.Env()...)
	b.env = append(b.env, "BBVAULT_REPOSITORY="+filepath.Join(work, "repo"), "BBVAULT_PASSWORD=bench",
		"BBVAULT_CACHE_DIR="+filepath.Join(work, "cache"))
	return b, nil
}

func (b *bench) stop() {
	if err := b.pg.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "drillbench: stopping PostgreSQL:", err)
	}
	if b.c.keepWork {
		fmt.Printf("work directory kept: %s\n", b.work)
		return
	}
	if err := os.RemoveAll(b.work); err != nil {
		fmt.Fprintln(os.Stderr, "drillbench:", err)
	}
}

// measure generates the data, snapshots it, drills it, then the faults.
func (b *bench) measure(ctx context.Context) error {
	if err := b.generate(ctx); err != nil {
		return err
	}
	if _, err := b.bbvault(ctx, "init"); err != nil {
		return err
	}
	if err := b.snapshot(ctx); err != nil {
		return err
	}
	for _, extra := range [][]string{nil, {"--full"}, {"--sample", "10%"}} {
		if err := b.drill(ctx, "good snapshot", 0, extra...); err != nil {
			return err
		}
	}
	if !b.c.faults {
		return nil
	}
	return b.plantFaults(ctx)
}

// generate builds the home and the database at once, then makes them agree.
func (b *bench) generate(ctx context.Context) error {
	p := b.c.profile
	homeBytes, err := units.ParseBytes(p.home)
	if err != nil {
		return err
	}
	dbBytes, err := units.ParseBytes(p.db)
	if err != nil {
		return err
	}
	if err := b.pg.CreateDB(ctx, liveDB); err != nil {
		return err
	}
	fmt.Printf("generating a %s home (%d repositories) and a %s database...\n", p.home, p.repos, p.db)
	t0 := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		_, err := homegen.Generate(gctx, homegen.Options{Dir: b.home, Bytes: homeBytes, Repos: p.repos,
			LooseObjects: p.loose, PullRequests: p.prs})
		return err
	})
	g.Go(func() error {
		_, err := dbgen.Generate(gctx, dbgen.Options{DSN: b.pg.DSN(liveDB), Bytes: dbBytes})
		return err
	})
	if err := g.Wait(); err != nil {
		return err
	}
	repos, refs, err := scanHome(b.home)
	if err != nil {
		return err
	}
	fmt.Printf("generated in %s; repository %d holds the pull-request refs\n", time.Since(t0).Round(time.Second), refs)
	return dbgen.MatchHome(ctx, b.pg.DSN(liveDB), repos, refs, p.prs)
}

// scanHome lists the repositories of a generated home, forks with the
// origin their alternates name, and the one holding pull-request refs.
func scanHome(home string) ([]dbgen.HomeRepo, int, error) {
	root := filepath.Join(home, "shared", "data", "repositories")
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, 0, err
	}
	var repos []dbgen.HomeRepo
	refs := 0
	for _, e := range entries {
		id, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		r := dbgen.HomeRepo{ID: id}
		if alt, err := os.ReadFile(filepath.Join(root, e.Name(), "objects", "info", "alternates")); err == nil {
			r.Origin, _ = strconv.Atoi(filepath.Base(filepath.Dir(strings.TrimSpace(string(alt)))))
		}
		if _, err := os.Stat(filepath.Join(root, e.Name(), "refs", "pull-requests")); err == nil {
			refs = id
		}
		repos = append(repos, r)
	}
	sort.Slice(repos, func(i, j int) bool { return repos[i].ID < repos[j].ID })
	return repos, refs, nil
}

// bbvault runs the binary and returns its standard output; the exit code
// is in the error.
func (b *bench) bbvault(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, b.bin, args...)
	cmd.Env = b.env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("bbvault %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out), nil
}

// snapshot backs up the home and the database, and prints what the dump's
// row counting cost.
func (b *bench) snapshot(ctx context.Context) error {
	t0 := time.Now()
	out, err := b.bbvault(ctx, "snapshot", "--home", b.home, "--db", b.pg.ChildDSN(liveDB), "--json")
	if err != nil {
		return err
	}
	fmt.Printf("snapshot in %s (%s)\n", time.Since(t0).Round(time.Millisecond), oneLine(out))
	ms, err := rowCountMs(ctx, b)
	if err == nil {
		fmt.Printf("  exact row counts of the dump's snapshot: %d ms (beside pg_dump, after the lock)\n", ms)
	}
	return err
}

// drill runs one drill and prints its figures; want is the exit code it
// must end with.
func (b *bench) drill(ctx context.Context, what string, want int, extra ...string) error {
	args := append([]string{"drill", "--scratch", filepath.Join(b.work, "scratch"), "--db-scratch", b.pg.ChildDSN("postgres")}, extra...)
	out, err := b.bbvault(ctx, args...)
	code := exitCode(err)
	fmt.Printf("\n== drill %s (%s): exit %d\n%s", what, strings.Join(extra, " "), code, out)
	if code != want {
		return fmt.Errorf("drill of %s: exit %d, want %d: %v", what, code, want, err)
	}
	return nil
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
