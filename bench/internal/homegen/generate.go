package homegen

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"golang.org/x/sync/errgroup"
)

// Generate creates the home o describes and returns what it holds.
func Generate(ctx context.Context, o Options) (Summary, error) {
	o = o.withDefaults()
	if err := o.validate(); err != nil {
		return Summary{}, err
	}
	if err := checkEmpty(o.Dir); err != nil {
		return Summary{}, err
	}
	start := time.Now()
	specs := plan(o)
	b := &builder{home: o.Dir, git: gitRunner{bin: o.Git}, loose: o.LooseObjects, prs: o.PullRequests}
	if err := b.buildAll(ctx, specs, o); err != nil {
		return Summary{}, err
	}
	if err := writeExtras(o); err != nil {
		return Summary{}, err
	}
	s, err := Summarize(o.Dir)
	if err != nil {
		return s, err
	}
	s.Kinds = kindCounts(specs)
	s.Took = time.Since(start)
	o.Logger.Info("home generated", "dir", o.Dir, "files", s.Files, "bytes", s.Bytes, "took", s.Took)
	return s, nil
}

// checkEmpty refuses a directory that holds anything.
func checkEmpty(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("homegen: %w", err)
	case len(entries) > 0:
		return fmt.Errorf("homegen: %s is not empty: generate a home into a new directory", dir)
	}
	return nil
}

// buildAll builds the origins in parallel, then the forks (which need
// their origins).
func (b *builder) buildAll(ctx context.Context, specs []repoSpec, o Options) error {
	for _, forks := range []bool{false, true} {
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(o.Jobs)
		for _, spec := range specs {
			if (spec.Kind == kindFork) != forks {
				continue
			}
			g.Go(func() error {
				begin := time.Now()
				err := b.build(gctx, spec)
				o.Logger.Debug("repository built", "id", spec.ID, "kind", spec.Kind, "bytes", spec.Bytes, "took", time.Since(begin))
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return err
		}
	}
	return nil
}

// writeExtras writes everything besides the repositories.
func writeExtras(o Options) error {
	if err := writeConfig(o.Dir); err != nil {
		return err
	}
	if _, err := writeAttachments(o.Dir, int64(float64(o.Bytes)*attachmentShare), o.Repos, o.Seed); err != nil {
		return err
	}
	if _, err := writePlugins(o.Dir, int64(float64(o.Bytes)*pluginShare), o.Seed); err != nil {
		return err
	}
	return writeExcluded(o.Dir, int64(float64(o.Bytes)*excludedShare), o.Seed)
}

func kindCounts(specs []repoSpec) map[string]int {
	m := map[string]int{}
	for _, s := range specs {
		m[s.Kind.String()]++
	}
	return m
}
