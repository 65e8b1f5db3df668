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
	"bbvault/internal/progress"
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
	if cfg.render != "" {
		return render(stdout, cfg.render, cfg.out)
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
	if err := b.restores(ctx); err != nil {
		return err
	}
	return b.prunes(ctx)
}

// write saves the JSON results, then prints the table and writes the
// Markdown from what was saved.
func (b *bench) write(stdout io.Writer) error {
	b.res.Took = time.Since(b.res.Started)
	b.res.Machine["load_avg_end"] = loadAvg()
	b.res.Aims = report.ComputeAims(b.res, b.cfg.dests)
	if err := os.MkdirAll(b.cfg.out, 0o755); err != nil {
		return err
	}
	path, err := b.res.WriteJSON(b.cfg.out)
	if err != nil {
		return err
	}
	return render(stdout, path, b.cfg.out)
}

// render prints the tables of a results file and writes its Markdown to
// out/latest-<profile>[-<subset>].md.
func render(stdout io.Writer, path, out string) error {
	res, err := report.Load(path)
	if err != nil {
		return err
	}
	tools, dests := res.Lists()
	report.WriteText(stdout, res, tools, dests)
	md := filepath.Join(out, "latest-"+res.Profile+config{tools: tools, dests: dests}.suffix()+".md")
	f, err := os.Create(md)
	if err != nil {
		return err
	}
	report.WriteDocument(f, res)
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nresults: %s and %s (took %s)\n", path, md, res.Took.Round(time.Second))
	return nil
}

// human prints a byte count the way bbvault itself does.
func human(n int64) string { return progress.Bytes(n) }
