package main

import (
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"
	"time"

	"bbvault/bench/internal/units"
)

// config is one benchmark run's shape.
type config struct {
	profile      string
	homeBytes    int64
	repos        int
	looseObjects int
	pullRequests int
	dbBytes      int64
	dayPercent   float64
	drain        time.Duration
	history      int // snapshots in the history prune works on
	keep         int // snapshots prune keeps
	tools        []string
	dests        []string
	bbvault      string
	benchDir     string
	work         string
	out          string
	keepWork     bool
	render       string
	verbose      bool
}

// profile is a named set of sizes.
type profile struct {
	home, db          string
	repos, loose, prs int
	history, keep     int
}

var profiles = map[string]profile{
	// smoke proves the harness works end to end in a few minutes; its
	// figures mean nothing.
	"smoke": {home: "20MiB", db: "5MiB", repos: 6, loose: 400, prs: 100, history: 6, keep: 3},
	// medium: the 1 GB / 50,000-file home, a 256 MiB database.
	"medium": {home: "1GiB", db: "256MiB", repos: 100, loose: 5300, prs: 2600, history: 30, keep: 7},
	// full: the 3 GB home and 1 GB database.
	"full": {home: "3GiB", db: "1GiB", repos: 200, loose: 2800, prs: 2600, history: 30, keep: 7},
}

var (
	allTools = []string{"bbvault", "restic", "restic18", "diy"}
	allDests = []string{"local", "s3"}
)

// parseConfig reads the flags; a profile's sizes can be overridden one by one.
func parseConfig(args []string) (config, error) {
	var c config
	var home, db, tools, dests string
	fs := flag.NewFlagSet("benchrun", flag.ContinueOnError)
	fs.StringVar(&c.profile, "profile", "smoke", "sizes: smoke, medium or full")
	fs.StringVar(&home, "home-size", "", "home size, e.g. 1GiB (default: the profile's)")
	fs.StringVar(&db, "db-size", "", "database size, e.g. 256MiB (default: the profile's)")
	fs.IntVar(&c.repos, "repos", 0, "repositories (default: the profile's)")
	fs.IntVar(&c.looseObjects, "loose-objects", 0, "loose objects per loose repository (default: the profile's)")
	fs.IntVar(&c.pullRequests, "pull-requests", 0, "pull requests, two refs each, in the refs repository (default: the profile's)")
	fs.Float64Var(&c.dayPercent, "day-repos", 3, "percent of repositories pushed to in the day of work")
	fs.DurationVar(&c.drain, "drain", 500*time.Millisecond, "how long the stand-in takes to drain (both tools wait for it under the lock)")
	fs.IntVar(&c.history, "history", 0, "snapshots in the history prune works on (default: the profile's)")
	fs.IntVar(&c.keep, "keep", 0, "snapshots prune keeps (default: the profile's)")
	fs.StringVar(&tools, "tools", strings.Join(allTools, ","), "tools to run")
	fs.StringVar(&dests, "dests", strings.Join(allDests, ","), "destinations: local, s3")
	fs.StringVar(&c.bbvault, "bbvault", "bin/bbvault", "the bbvault binary (make build)")
	fs.StringVar(&c.benchDir, "bench-dir", "bench", "the directory holding diy-backup.sh and diy-restore.sh")
	fs.StringVar(&c.work, "work", "", "work directory for data, repositories and servers (default: a new one under $TMPDIR, removed at the end)")
	fs.StringVar(&c.out, "out", "bench/results", "where the JSON results and latest-<profile>.md go")
	fs.BoolVar(&c.keepWork, "keep-work", false, "keep the work directory")
	fs.BoolVar(&c.verbose, "v", false, "log more")
	fs.StringVar(&c.render, "render", "", "only print the tables of a results `file` and rewrite its latest-*.md")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if err := c.applyProfile(home, db); err != nil {
		return c, err
	}
	c.tools, c.dests = splitList(tools), splitList(dests)
	return c, c.validate()
}

// applyProfile fills what the flags left unset from the profile.
func (c *config) applyProfile(home, db string) error {
	p, ok := profiles[c.profile]
	if !ok {
		return fmt.Errorf("--profile %q: choose smoke, medium or full", c.profile)
	}
	if home == "" {
		home = p.home
	}
	if db == "" {
		db = p.db
	}
	var err error
	if c.homeBytes, err = units.ParseBytes(home); err != nil {
		return fmt.Errorf("--home-size: %w", err)
	}
	if c.dbBytes, err = units.ParseBytes(db); err != nil {
		return fmt.Errorf("--db-size: %w", err)
	}
	setDefault(&c.repos, p.repos)
	setDefault(&c.looseObjects, p.loose)
	setDefault(&c.pullRequests, p.prs)
	setDefault(&c.history, p.history)
	setDefault(&c.keep, p.keep)
	return nil
}

func setDefault(v *int, def int) {
	if *v == 0 {
		*v = def
	}
}

func (c config) validate() error {
	for _, t := range c.tools {
		if !slices.Contains(allTools, t) {
			return fmt.Errorf("--tools: unknown tool %q (choose from %s)", t, strings.Join(allTools, ", "))
		}
	}
	for _, d := range c.dests {
		if !slices.Contains(allDests, d) {
			return fmt.Errorf("--dests: unknown destination %q (choose from local, s3)", d)
		}
	}
	if len(c.tools) == 0 || len(c.dests) == 0 {
		return errors.New("--tools and --dests need at least one entry each")
	}
	if c.keep >= c.history {
		return fmt.Errorf("--keep %d must be below --history %d", c.keep, c.history)
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// summary is the configuration as recorded in the results.
func (c config) summary() map[string]any {
	return map[string]any{"profile": c.profile, "home_bytes": c.homeBytes, "repos": c.repos,
		"loose_objects": c.looseObjects, "pull_requests": c.pullRequests, "db_bytes": c.dbBytes,
		"day_repos_percent": c.dayPercent, "drain_ms": c.drain.Milliseconds(), "history": c.history,
		"keep": c.keep, "tools": c.tools, "dests": c.dests}
}

// suffix tells apart the tables of runs that left out tools or
// destinations ("-local", "-s3-bbvault-restic"); "" for a whole run.
func (c config) suffix() string {
	var parts []string
	if len(c.dests) < len(allDests) {
		parts = append(parts, c.dests...)
	}
	if len(c.tools) < len(allTools) {
		parts = append(parts, c.tools...)
	}
	if len(parts) == 0 {
		return ""
	}
	return "-" + strings.Join(parts, "-")
}
