// Command benchrun is the benchmark harness: it generates a Bitbucket-like
// home and database, starts PostgreSQL, MinIO (behind a request-counting
// proxy) and the Bitbucket stand-in, and runs bbvault, restic and the DIY
// flow side by side, each to a local repository and to MinIO, through the
// scenarios initial snapshot, no-change snapshot, snapshot after a day of
// work, restore onto an empty target, and prune of a 30-snapshot history.
// It prints a table with bbvault's ratio to each peer and the aims,
// and writes JSON and Markdown under bench/results.
//
//	go run ./bench/cmd/benchrun --profile smoke     # make bench-smoke
//	go run ./bench/cmd/benchrun --profile full      # make bench
//
// A step a tool cannot do yet (a bbvault command still being written) is
// reported as n/a with the reason; the run goes on and exits 0. Only a
// harness failure (a server that will not start, data that cannot be
// generated) exits non-zero.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"bbvault/bench/internal/report"
	"bbvault/bench/internal/units"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "benchrun:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	cfg, err := parseConfig(args)
	if err != nil {
		return err
	}
	if cfg.bbvault, err = filepath.Abs(cfg.bbvault); err != nil {
		return err
	}
	if cfg.benchDir, err = filepath.Abs(cfg.benchDir); err != nil {
		return err
	}
	level := slog.LevelWarn
	if cfg.verbose {
		level = slog.LevelDebug
	}
	b := &bench{cfg: cfg, progress: stderr, log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})),
		res: &report.Results{Profile: cfg.profile, Command: "benchrun " + strings.Join(args, " "), Started: time.Now(),
			Config: cfg.summary(), Data: map[string]any{}}}
	b.res.Machine = machine(ctx, cfg.bbvault)
	defer func() {
		if serr := b.stop(); serr != nil && err == nil {
			err = serr
		}
	}()
	if err := b.runAll(ctx); err != nil {
		return err
	}
	return b.write(stdout)
}

// runAll is the whole benchmark: servers, data, tools, scenarios.
func (b *bench) runAll(ctx context.Context) error {
	if err := b.start(ctx); err != nil {
		return err
	}
	if err := b.generate(ctx); err != nil {
		return err
	}
	if err := b.makeTools(ctx); err != nil {
		return err
	}
	b.initTools(ctx)
	if err := b.snapshots(ctx); err != nil {
		return err
	}
	b.restores(ctx)
	return b.prunes(ctx)
}

// write prints the table and saves the JSON and Markdown results.
func (b *bench) write(stdout io.Writer) error {
	b.res.Took = time.Since(b.res.Started)
	b.res.Machine["load_avg_end"] = loadAvg()
	b.res.Aims = report.ComputeAims(b.res, b.cfg.dests)
	report.WriteText(stdout, b.res, b.cfg.tools, b.cfg.dests)
	if err := os.MkdirAll(b.cfg.out, 0o755); err != nil {
		return err
	}
	path, err := b.res.WriteJSON(b.cfg.out)
	if err != nil {
		return err
	}
	md := filepath.Join(b.cfg.out, "latest-"+b.cfg.profile+b.cfg.suffix()+".md")
	if err := writeMarkdown(md, b.res, b.cfg); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nresults: %s and %s (took %s)\n", path, md, b.res.Took.Round(time.Second))
	return nil
}

// writeMarkdown writes the run's command, conditions and tables.
func writeMarkdown(path string, res *report.Results, cfg config) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	fmt.Fprintf(f, "### Benchmark: profile %s, %s\n\n", res.Profile, res.Started.UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(f, "Command: `%s` (took %s)\n\n", res.Command, res.Took.Round(time.Second))
	fmt.Fprintf(f, "Machine: %v CPUs, %v memory, load average %v at the start and %v at the end.\n\n",
		res.Machine["cpus"], res.Machine["mem_total"], res.Machine["load_avg"], res.Machine["load_avg_end"])
	fmt.Fprintf(f, "Data: home %s asked, database %s asked (see the JSON for what was generated); stand-in drain %s.\n",
		units.Human(cfg.homeBytes), units.Human(cfg.dbBytes), cfg.drain)
	report.WriteMarkdown(f, res, cfg.tools, cfg.dests)
	return f.Close()
}

func human(n int64) string { return units.Human(n) }
