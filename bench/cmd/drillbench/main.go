// Command drillbench measures `bbvault drill` on the benchmark's data: it
// generates a home and a database of a benchrun profile (homegen, dbgen,
// then dbgen.MatchHome so the two agree as a real instance's do), takes a
// snapshot with bin/bbvault, runs the drill (connectivity, --full, a 10%
// sample), then plants each fault the drill must find, one at a time, and
// prints what the drill said.
//
//	go run ./bench/cmd/drillbench --profile medium
//
// Needs what benchrun needs of PostgreSQL and git, and `make build`. The
// work directory (about three times the home) is removed at the end unless
// --keep-work.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "drillbench:", err)
		os.Exit(1)
	}
}

// profile is the data of a benchrun profile drillbench generates.
type profile struct {
	home, db          string
	repos, loose, prs int
}

var profiles = map[string]profile{
	"smoke":  {home: "20MiB", db: "5MiB", repos: 6, loose: 400, prs: 100},
	"medium": {home: "1GiB", db: "256MiB", repos: 100, loose: 5300, prs: 2600},
}

type config struct {
	profile  profile
	name     string
	bbvault  string
	keepWork bool
	faults   bool
}

func run(ctx context.Context, args []string) error {
	var c config
	fs := flag.NewFlagSet("drillbench", flag.ContinueOnError)
	fs.StringVar(&c.name, "profile", "smoke", "data size: smoke or medium (benchrun's profiles)")
	fs.StringVar(&c.bbvault, "bbvault", "bin/bbvault", "the bbvault binary (make build)")
	fs.BoolVar(&c.keepWork, "keep-work", false, "keep the work directory")
	fs.BoolVar(&c.faults, "faults", true, "plant each fault and drill again")
	if err := fs.Parse(args); err != nil {
		return err
	}
	p, ok := profiles[c.name]
	if !ok {
		return fmt.Errorf("--profile %q: choose smoke or medium", c.name)
	}
	c.profile = p
	b, err := start(ctx, c)
	if err != nil {
		return err
	}
	defer b.stop()
	return b.measure(ctx)
}
