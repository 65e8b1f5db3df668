// Command genhome generates the benchmark's Bitbucket-like home (and, with
// --db, its PostgreSQL database), or plays a day of work on them. Nothing is
// downloaded: repositories are written with the local git.
//
//	genhome --dir /tmp/home --size 1GiB --repos 100
//	genhome --dir /tmp/home --size 1GiB --repos 100 --day 1     # one day of pushes on that home
//
// The database DSN comes from --db or BENCH_DB; put its password in
// PGPASSWORD, not in the DSN.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"bbvault/bench/internal/dbgen"
	"bbvault/bench/internal/homegen"
	"bbvault/bench/internal/units"
)

type config struct {
	home     homegen.Options
	size     string
	db       string
	dbSize   string
	day      int
	dayRepos float64
	verbose  bool
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "genhome:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("genhome", flag.ContinueOnError)
	fs.StringVar(&c.home.Dir, "dir", "", "home `directory` to create (must not exist or be empty)")
	fs.StringVar(&c.size, "size", "64MiB", "approximate home `size` (e.g. 500MiB, 3GiB)")
	fs.IntVar(&c.home.Repos, "repos", 20, "number of repositories, forks included")
	fs.IntVar(&c.home.LooseObjects, "loose-objects", 2500, "loose objects in each loose repository")
	fs.IntVar(&c.home.PullRequests, "pull-requests", 2600, "pull requests (two refs each) in the refs repository")
	fs.Uint64Var(&c.home.Seed, "seed", 1, "seed: another value makes another home of the same shape")
	fs.IntVar(&c.home.Jobs, "jobs", 0, "repositories built at once (default: CPUs)")
	fs.StringVar(&c.db, "db", os.Getenv("BENCH_DB"), "PostgreSQL `DSN` to fill with Bitbucket-like tables (default $BENCH_DB)")
	fs.StringVar(&c.dbSize, "db-size", "64MiB", "approximate database `size`")
	fs.IntVar(&c.day, "day", 0, "play day `N` of work on an existing home (and database) instead of generating")
	fs.Float64Var(&c.dayRepos, "day-repos", 3, "percent of repositories pushed to in a day")
	fs.BoolVar(&c.verbose, "v", false, "log each repository")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if c.home.Dir == "" {
		return c, errors.New("--dir is required")
	}
	size, err := units.ParseBytes(c.size)
	if err != nil {
		return c, fmt.Errorf("--size: %w", err)
	}
	c.home.Bytes = size
	return c, nil
}

func run(ctx context.Context, args []string) error {
	c, err := parseFlags(args)
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if c.verbose {
		level = slog.LevelDebug
	}
	c.home.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if c.day > 0 {
		return playDay(ctx, c)
	}
	return generate(ctx, c)
}

func generate(ctx context.Context, c config) error {
	s, err := homegen.Generate(ctx, c.home)
	if err != nil {
		return err
	}
	out := map[string]any{"home": s}
	if c.db != "" {
		dbSize, err := units.ParseBytes(c.dbSize)
		if err != nil {
			return fmt.Errorf("--db-size: %w", err)
		}
		ds, err := dbgen.Generate(ctx, dbgen.Options{DSN: c.db, Bytes: dbSize, Logger: c.home.Logger})
		if err != nil {
			return err
		}
		out["database"] = ds
	}
	return printJSON(out)
}

func playDay(ctx context.Context, c config) error {
	d, err := homegen.DayOfWork(ctx, c.home, homegen.DayOptions{Day: c.day, RepoPercent: c.dayRepos})
	if err != nil {
		return err
	}
	out := map[string]any{"home": d}
	if c.db != "" {
		ch, err := dbgen.Churn(ctx, dbgen.Options{DSN: c.db, Logger: c.home.Logger}, c.day)
		if err != nil {
			return err
		}
		out["database"] = ch
	}
	return printJSON(out)
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
