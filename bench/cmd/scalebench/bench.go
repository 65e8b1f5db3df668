package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"bbvault/bench/internal/measure"
	"bbvault/bench/internal/synth"
	"bbvault/test/servers"
)

// bench is one run.
type bench struct {
	cfg      config
	out      io.Writer
	progress io.Writer
	log      *slog.Logger
	work     string
	password string
}

// results is what a run writes.
type results struct {
	Started   time.Time         `json:"started"`
	Took      time.Duration     `json:"took_ns"`
	Blobs     int               `json:"blobs"`
	Machine   map[string]string `json:"machine"`
	Synthetic synth.Summary     `json:"synthetic"`
	Steps     []step            `json:"steps"`
}

// step is one measured bbvault command.
type step struct {
	Binary  string  `json:"bbvault"`
	Name    string  `json:"name"`
	Command string  `json:"command"`
	WallMs  float64 `json:"wall_ms"`
	CPUMs   float64 `json:"cpu_ms"`
	MaxRSS  int64   `json:"max_rss_bytes"`
	Load    string  `json:"load_avg"`
	Err     string  `json:"error,omitempty"`
}

func (b *bench) runAll(ctx context.Context) (*results, error) {
	res := &results{Started: time.Now(), Blobs: b.cfg.blobs, Machine: map[string]string{
		"cpus": fmt.Sprint(runtime.NumCPU()), "load_avg": loadAvg()}}
	if err := b.makeWork(); err != nil {
		return nil, err
	}
	fmt.Fprintf(b.progress, "building a synthetic repository of %d blobs in %s...\n", b.cfg.blobs, b.work)
	sum, err := synth.Build(ctx, synth.Options{Dir: b.path("repo"), CacheDir: b.path("cache"),
		Password: []byte(b.password), Blobs: b.cfg.blobs, Seed: b.cfg.seed, Logger: b.log})
	if err != nil {
		return nil, fmt.Errorf("synthetic repository: %w", err)
	}
	res.Synthetic = sum
	fmt.Fprintf(b.progress, "built in %s (index %s, trees %s): %d packs, %d index objects, %d blobs used, cache %d MiB\n",
		sum.Took.Round(time.Second), sum.IndexTook.Round(time.Second), sum.TreesTook.Round(time.Second),
		sum.Packs, sum.Indexes, sum.UsedBlobs, sum.CacheBytes>>20)
	for i, bin := range b.cfg.bbvaults {
		home := b.path(fmt.Sprintf("home-%d", i))
		if err := writeSmallHome(home); err != nil {
			return nil, err
		}
		fmt.Fprintf(b.progress, "\n%s\n", bin)
		for _, s := range steps(home) {
			st := b.measure(ctx, bin, s.name, s.args...)
			res.Steps = append(res.Steps, st)
			if st.Err != "" {
				return res, fmt.Errorf("%s: %s", s.name, st.Err)
			}
		}
	}
	res.Took = time.Since(res.Started)
	res.Machine["load_avg_end"] = loadAvg()
	return res, nil
}

type stepSpec struct {
	name string
	args []string
}

// steps are the commands measured for each binary, each with a small home
// of its own (its snapshots are a group of their own for prune).
func steps(home string) []stepSpec {
	return []stepSpec{
		{"open and sync", []string{"snapshots", "--json"}},
		{"snapshot of a small home (first)", []string{"snapshot", "--home", home, "--json"}},
		{"snapshot, no change", []string{"snapshot", "--home", home, "--json"}},
		{"prune plan (dry run)", []string{"prune", "--keep", "1", "--max-unused", "1%", "--dry-run", "--json"}},
	}
}

// measure runs one bbvault command and reports what it cost.
func (b *bench) measure(ctx context.Context, bin, name string, args ...string) step {
	fmt.Fprintf(b.progress, "%-34s ", name)
	r := measure.Run(ctx, measure.Cmd{Path: bin, Args: args, Env: b.env(), Dir: b.work,
		LogPath: b.path("bbvault.log"), CaptureStdout: true})
	st := step{Binary: bin, Name: name, Command: "bbvault " + strings.Join(args, " "), WallMs: ms(r.Wall), CPUMs: ms(r.CPU()),
		MaxRSS: r.MaxRSS, Load: loadAvg()}
	if r.Err != nil {
		st.Err = r.Err.Error()
	}
	fmt.Fprintf(b.progress, "%7.1f s wall, %7.1f s CPU, %6.0f MiB peak RSS (load %s)\n",
		st.WallMs/1000, st.CPUMs/1000, float64(st.MaxRSS)/(1<<20), st.Load)
	return st
}

// env is the child's whole environment: the repository, its password file
// and cache, and a private HOME and TMPDIR.
func (b *bench) env() []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + b.path("userhome"), "TMPDIR=" + b.path("tmp"),
		"BBVAULT_REPOSITORY=" + b.path("repo"), "BBVAULT_PASSWORD_FILE=" + b.path("password"),
		"BBVAULT_CACHE_DIR=" + b.path("cache"), "BBVAULT_STATE_DIR=" + b.path("state"), "LC_ALL=C"}
}

func (b *bench) path(name string) string { return filepath.Join(b.work, name) }

// makeWork creates the work directory: a fresh one under $TMPDIR (after
// removing those of killed runs), or --work, which must be empty.
func (b *bench) makeWork() error {
	b.password = "scale-" + servers.RandomHex(12)
	if b.cfg.work == "" {
		if removed, err := servers.SweepStale(); err == nil {
			for _, dir := range removed {
				fmt.Fprintf(b.progress, "removed %s, left by a run that was killed\n", dir)
			}
		}
		dir, err := servers.NewDir("scale")
		b.work = dir
		return errors.Join(err, b.makeDirs())
	}
	if entries, err := os.ReadDir(b.cfg.work); err == nil && len(entries) > 0 {
		return fmt.Errorf("--work %s is not empty: give a new directory", b.cfg.work)
	}
	b.work = b.cfg.work
	return b.makeDirs()
}

// makeDirs creates the children's directories and the password file (a
// kept work directory can be used with bbvault by hand).
func (b *bench) makeDirs() error {
	for _, d := range []string{"userhome", "tmp", "state"} {
		if err := os.MkdirAll(b.path(d), 0o700); err != nil {
			return err
		}
	}
	return os.WriteFile(b.path("password"), []byte(b.password), 0o600)
}

// cleanup removes the work directory unless it is to be kept.
func (b *bench) cleanup() {
	if b.work == "" {
		return
	}
	if b.cfg.keepWork {
		fmt.Fprintf(b.progress, "work directory kept: %s\n", b.work)
		return
	}
	if err := os.RemoveAll(b.work); err != nil {
		fmt.Fprintf(b.progress, "could not remove %s: %v\n", b.work, err)
	}
}

// writeSmallHome writes a home of a few hundred small files.
func writeSmallHome(dir string) error {
	for i := range 300 {
		path := filepath.Join(dir, fmt.Sprintf("shared/data/repositories/%d/objects/%02x/obj%d", i%10, i%256, i))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		content := strings.Repeat(fmt.Sprintf("object %d of a small home\n", i), 1+i%50)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// report prints the table and writes the JSON and Markdown results.
func (b *bench) report(res *results) error {
	if err := os.MkdirAll(b.cfg.out, 0o755); err != nil {
		return err
	}
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	name := filepath.Join(b.cfg.out, "scale-"+res.Started.UTC().Format("20060102T150405Z")+".json")
	if err := os.WriteFile(name, data, 0o644); err != nil {
		return err
	}
	md := filepath.Join(b.cfg.out, "latest-scale.md")
	f, err := os.Create(md)
	if err != nil {
		return err
	}
	writeMarkdown(io.MultiWriter(f, b.out), res)
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(b.out, "\nresults: %s and %s\n", name, md)
	return nil
}

func writeMarkdown(w io.Writer, res *results) {
	s := res.Synthetic
	fmt.Fprintf(w, "### Scale: %d blobs in the index (%s)\n\n", res.Blobs, res.Started.UTC().Format("2006-01-02"))
	fmt.Fprintf(w, "Synthetic repository: %d packs, %d index objects, one snapshot using %d blobs in %d trees; "+
		"index cache %d MiB; built in %s. %s CPUs, load average %s at the start, %s at the end.\n\n",
		s.Packs, s.Indexes, s.UsedBlobs, s.TreeBlobs, s.CacheBytes>>20, s.Took.Round(time.Second),
		res.Machine["cpus"], res.Machine["load_avg"], res.Machine["load_avg_end"])
	fmt.Fprintln(w, "| bbvault | step | wall s | CPU s | peak RSS MiB | RSS bytes per blob | load avg |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	for _, st := range res.Steps {
		fmt.Fprintf(w, "| %s | %s | %.1f | %.1f | %.0f | %.1f | %s |\n", filepath.Base(st.Binary), st.Name,
			st.WallMs/1000, st.CPUMs/1000, float64(st.MaxRSS)/(1<<20), float64(st.MaxRSS)/float64(res.Blobs), st.Load)
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	return strings.Join(strings.Fields(string(data))[:3], " ")
}
