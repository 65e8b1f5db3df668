package maintenance

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// benchSnapshots is the length of the history BenchmarkPrune prunes.
const benchSnapshots = 32

// pruneHistory is one home's history backed up by bbvault and by restic.
type pruneHistory struct {
	bbvault *bbvaultCLI
	restic  []string // environment for restic
	rRepo   string
	rCache  string
}

// BenchmarkPrune prunes a repository of 32 snapshots of a changing home
// (about 1,500 small files and a few large ones, 5% churn per snapshot) to
// the 5 newest, end to end through the command line, beside restic forget
// --prune on the same history when restic is installed. Each run starts
// from a copy of the repository and its warm cache. Reported: time per
// prune and the process's peak resident memory.
func BenchmarkPrune(b *testing.B) {
	h := buildPruneHistory(b)
	b.Run("bbvault", func(b *testing.B) {
		benchCommand(b, func(dir string) *exec.Cmd {
			repo, cache := copyDir(b, h.bbvault.Repo, dir), copyDir(b, h.bbvault.Cache, dir)
			cmd := exec.Command(h.bbvault.Bin, "prune", "--keep", "5", "--max-unused", "5%")
			cmd.Env = append(append([]string(nil), h.bbvault.Env...), "BBVAULT_REPOSITORY="+repo, "BBVAULT_CACHE_DIR="+cache)
			return cmd
		})
	})
	if h.restic == nil {
		return
	}
	b.Run("restic", func(b *testing.B) {
		benchCommand(b, func(dir string) *exec.Cmd {
			repo, cache := copyDir(b, h.rRepo, dir), copyDir(b, h.rCache, dir)
			cmd := exec.Command("restic", "forget", "--keep-last", "5", "--prune", "--max-unused", "5%", "--cache-dir", cache, "-q")
			cmd.Env = append(append([]string(nil), h.restic...), "RESTIC_REPOSITORY="+repo)
			return cmd
		})
	})
}

// benchCommand times the command built for each iteration (the copying is
// not timed) and reports the largest peak RSS seen.
func benchCommand(b *testing.B, build func(dir string) *exec.Cmd) {
	var peak int64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		cmd := build(b.TempDir())
		out, _ := os.CreateTemp(b.TempDir(), "out")
		cmd.Stdout, cmd.Stderr = out, out
		b.StartTimer()
		err := cmd.Run()
		b.StopTimer()
		if err != nil {
			log, _ := os.ReadFile(out.Name())
			b.Fatalf("%s: %v\n%s", cmd.Path, err, log)
		}
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			peak = max(peak, ru.Maxrss) // KiB on Linux
		}
		out.Close()
	}
	b.ReportMetric(float64(peak)/1024, "peak-MiB")
}

func copyDir(b *testing.B, src, parent string) string {
	b.Helper()
	dst := filepath.Join(parent, filepath.Base(src)+fmt.Sprint(time.Now().UnixNano()))
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		b.Fatalf("cp: %v\n%s", err, out)
	}
	return dst
}

func buildPruneHistory(b *testing.B) *pruneHistory {
	b.Helper()
	start := time.Now()
	c := newCLI(b)
	h := &pruneHistory{bbvault: c}
	f := newHome(b, 70)
	f.populate(1500, 32<<10)
	for i := range 4 {
		f.writeFile(fmt.Sprintf("shared/data/repositories/9/objects/pack/pack-%d.pack", i), f.randomData(5<<20))
	}
	if _, err := exec.LookPath("restic"); err == nil {
		h.rRepo, h.rCache = filepath.Join(b.TempDir(), "restic-repo"), filepath.Join(b.TempDir(), "restic-cache")
		h.restic = append(os.Environ(), "RESTIC_PASSWORD="+testPassword, "RESTIC_REPOSITORY="+h.rRepo)
		runEnv(b, h.restic, "restic", "init", "-q", "--cache-dir", h.rCache)
	}
	for i := range benchSnapshots {
		if i > 0 {
			churn(f)
		}
		c.MustRun("snapshot", "--home", f.home)
		if h.restic != nil {
			runEnv(b, h.restic, "restic", "backup", "-q", "--cache-dir", h.rCache, f.home)
		}
	}
	b.Logf("history of %d snapshots built in %s", benchSnapshots, time.Since(start).Round(time.Second))
	return h
}

// churn rewrites about 5% of the files, removes 1% and adds a few, and
// rewrites one large pack.
func churn(f *fixture) {
	for _, rel := range f.files() {
		switch n := f.rng.IntN(100); {
		case n == 0:
			_ = os.Remove(filepath.Join(f.home, rel))
		case n < 6:
			f.writeFile(rel, f.randomData(f.rng.IntN(32<<10)))
		}
	}
	for range 20 {
		f.writeFile(fmt.Sprintf("shared/data/repositories/%d/objects/n%d", f.rng.IntN(9), f.rng.Uint32()), f.randomData(f.rng.IntN(64<<10)))
	}
	f.writeFile(fmt.Sprintf("shared/data/repositories/9/objects/pack/pack-%d.pack", f.rng.IntN(4)), f.randomData(5<<20))
}

func runEnv(b *testing.B, env []string, name string, args ...string) {
	b.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}
