// Command scalebench measures bbvault on a repository of tens of millions
// of blobs, as a 10 TB instance with millions of loose objects makes. It
// builds a synthetic repository (package synth: index rows straight into
// the cache, sparse packs, one snapshot whose trees use most of the blobs),
// then runs each bbvault binary given on it, each step measured as the
// harness measures it (wall and CPU time from wait4, peak RSS from GNU
// time):
//
//   - open and sync: `bbvault snapshots`;
//   - snapshot: a first snapshot of a small home beside it, which loads the
//     set of known blobs;
//   - no change: the same home again;
//   - prune plan: `bbvault prune --keep 1 --max-unused 1% --dry-run`, which
//     marks the blobs the kept snapshots use, sweeps the index and plans,
//     and deletes nothing.
//
// Usage:
//
//	go run ./bench/cmd/scalebench                  # 50 million blobs: about 10 GB of disk, long
//	go run ./bench/cmd/scalebench --blobs 2000000  # a quick look
//
// It writes bench/results/scale-<time>.json and latest-scale.md, and
// removes its work directory at the end (unless --keep-work).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
)

// config is one run's shape.
type config struct {
	blobs    int
	bbvaults []string
	work     string
	keepWork bool
	out      string
	seed     uint64
	verbose  bool
}

func parseConfig(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("scalebench", flag.ContinueOnError)
	fs.IntVar(&c.blobs, "blobs", 50_000_000, "blobs in the synthetic repository's index")
	var bins string
	fs.StringVar(&bins, "bbvault", "bin/bbvault", "the bbvault binary (make build), or several separated by commas, each run on the same repository")
	fs.StringVar(&c.work, "work", "", "work directory (default: a new one under $TMPDIR)")
	fs.BoolVar(&c.keepWork, "keep-work", false, "keep the work directory")
	fs.StringVar(&c.out, "out", "bench/results", "where scale-<time>.json and latest-scale.md go")
	fs.Uint64Var(&c.seed, "seed", 1, "seed of the synthetic IDs")
	fs.BoolVar(&c.verbose, "v", false, "log progress")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if c.blobs < 1000 {
		return c, fmt.Errorf("--blobs %d: give at least 1000", c.blobs)
	}
	for _, b := range strings.Split(bins, ",") {
		abs, err := filepath.Abs(strings.TrimSpace(b))
		if err != nil {
			return c, err
		}
		c.bbvaults = append(c.bbvaults, abs)
	}
	return c, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args)
	if err != nil {
		return err
	}
	for _, bin := range cfg.bbvaults {
		if _, err := os.Stat(bin); err != nil {
			return fmt.Errorf("no bbvault binary at %s: run make build", bin)
		}
	}
	level := slog.LevelWarn
	if cfg.verbose {
		level = slog.LevelInfo
	}
	b := &bench{cfg: cfg, out: stdout, progress: stderr,
		log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))}
	defer b.cleanup()
	res, err := b.runAll(ctx)
	if err != nil {
		return err
	}
	return b.report(res)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "scalebench:", err)
		os.Exit(1)
	}
}
