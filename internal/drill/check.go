package drill

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"
)

// Options say what Check looks at.
type Options struct {
	Home string // the restored home
	DSN  string // the restored database
	Full bool   // git fsck --full --strict instead of --connectivity-only
	// Sample is the fraction of repositories whose git is checked (0 < Sample
	// <= 1; 0 means all), drawn at random. The home and the database are
	// always compared in full.
	Sample float64
	// Excluded are repository IDs the snapshot left out on purpose
	// (--exclude-repo): their rows have no directory, and that is no problem.
	Excluded map[int]bool
	Workers  int    // repositories checked at once (default: CPUs)
	Git      string // the git binary (default "git" from PATH)
	Rand     *rand.Rand
	Logger   *slog.Logger
}

func (o *Options) defaults() {
	if o.Sample <= 0 || o.Sample > 1 {
		o.Sample = 1
	}
	if o.Workers <= 0 {
		o.Workers = runtime.NumCPU()
	}
	if o.Rand == nil {
		o.Rand = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Check compares the restored home with the restored database and checks
// the repositories with git. Its error means the checks could not run (no
// git, the database unreachable); what they found is in the Report.
func Check(ctx context.Context, o Options) (*Report, error) {
	o.defaults()
	t0 := time.Now()
	git, err := newGitRunner(o.Git)
	if err != nil {
		return nil, err
	}
	cat, err := readCatalog(ctx, o.DSN)
	if err != nil {
		return nil, err
	}
	dirs, err := repoDirs(o.Home)
	if err != nil {
		return nil, err
	}
	rep := &Report{Rows: len(cat.repos), Directories: len(dirs), Sample: o.Sample,
		Problems: append([]Problem{}, cat.problems...)}
	skip := rep.compareHomeAndDatabase(o, cat, dirs)
	if err := rep.runGit(ctx, o, git, cat, dirs, skip); err != nil {
		return nil, err
	}
	rep.Duration = time.Since(t0)
	o.Logger.Info("drill checks done", "repositories", rep.Directories, "checked", rep.Checked,
		"problems", len(rep.Problems), "took", rep.Duration)
	return rep, nil
}

// compareHomeAndDatabase reports rows without directories, orphan
// directories and broken alternates; it returns the repositories whose git
// checks would only repeat an alternates problem.
func (rep *Report) compareHomeAndDatabase(o Options, cat *catalog, dirs map[int]string) map[int]bool {
	for _, id := range sortedKeys(cat.repos) {
		if _, ok := dirs[id]; !ok && !o.Excluded[id] {
			rep.add(Problem{Kind: KindMissingDirectory, Class: Inconsistent, Repository: id,
				Message: fmt.Sprintf("has a row in the repository table but no directory %s/%d", ReposPath, id)})
		}
	}
	skip := map[int]bool{}
	for _, id := range sortedKeys(dirs) {
		if _, ok := cat.repos[id]; !ok {
			rep.add(Problem{Kind: KindOrphanDirectory, Class: Inconsistent, Repository: id,
				Message: fmt.Sprintf("directory %s/%d has no row in the repository table (an orphan)", ReposPath, id)})
		}
		entries, err := alternates(dirs[id])
		if err != nil {
			entries = []string{"(unreadable: " + err.Error() + ")"}
		}
		if len(entries) > 0 {
			rep.Forks++
		}
		if ps := checkAlternates(o.Home, id, dirs[id], entries, cat); len(ps) > 0 {
			rep.add(ps...)
			skip[id] = true
		}
	}
	return skip
}

// runGit checks the sampled repositories with git, several at once.
func (rep *Report) runGit(ctx context.Context, o Options, git gitRunner, cat *catalog, dirs map[int]string, skip map[int]bool) error {
	t0 := time.Now()
	ids := sample(sortedKeys(dirs), o.Sample, o.Rand)
	prsOf := map[int][]int64{}
	for _, pr := range cat.prs {
		prsOf[pr.Repo] = append(prsOf[pr.Repo], pr.ScopedID)
	}
	results := make([]repoCheck, len(ids))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(o.Workers)
	for i, id := range ids {
		if skip[id] {
			continue
		}
		g.Go(func() error {
			var err error
			results[i], err = git.checkRepo(gctx, id, dirs[id], o.Full, len(prsOf[id]) > 0)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	rep.GitDuration = time.Since(t0)
	rep.collect(ids, results, prsOf, skip)
	return nil
}

// collect adds what the git checks found, and counts the open pull
// requests whose refs are missing in the checked repositories.
func (rep *Report) collect(ids []int, results []repoCheck, prsOf map[int][]int64, skip map[int]bool) {
	missing := 0
	for i, id := range ids {
		if skip[id] {
			continue
		}
		rep.Checked++
		rep.add(results[i].problems...)
		for _, pr := range prsOf[id] {
			rep.OpenPullRequests++
			if !results[i].prRefs[pr] {
				missing++
			}
		}
	}
	rep.PullRequestRefsMissing = missing
	if missing > 0 {
		rep.add(Problem{Kind: KindPullRequestRefs, Class: Warning, Message: fmt.Sprintf(
			"%d of %d open pull requests of the checked repositories have no refs/pull-requests/<id>/from in their repository",
			missing, rep.OpenPullRequests)})
	}
}

func (rep *Report) add(ps ...Problem) { rep.Problems = append(rep.Problems, ps...) }

// sample draws a fraction of ids at random, at least one, in order.
func sample(ids []int, fraction float64, rng *rand.Rand) []int {
	if fraction >= 1 || len(ids) == 0 {
		return ids
	}
	n := max(1, int(math.Ceil(float64(len(ids))*fraction)))
	picked := rng.Perm(len(ids))[:n]
	slices.Sort(picked)
	out := make([]int, 0, n)
	for _, i := range picked {
		out = append(out, ids[i])
	}
	return out
}
