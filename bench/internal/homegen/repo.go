package homegen

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Import runs per repository shape: each run of fast-import leaves a pack.
const (
	pushedRuns = 3
	gcRuns     = 2
)

// reposDir is where Bitbucket keeps repositories, relative to the home.
const reposDir = "shared/data/repositories"

// builder creates repositories in one home.
type builder struct {
	home  string
	git   gitRunner
	loose int // loose objects per loose repository
	prs   int // pull requests in the refs repository
}

func (b *builder) repoDir(id int) string {
	return filepath.Join(b.home, reposDir, strconv.Itoa(id))
}

// build creates the repository spec describes; forks need their origin
// built first.
func (b *builder) build(ctx context.Context, spec repoSpec) error {
	dir := b.repoDir(spec.ID)
	if _, err := b.git.run(ctx, "", nil, "init", "--bare", "--quiet", "--initial-branch=master", dir); err != nil {
		return err
	}
	if spec.Kind == kindFork {
		return b.buildFork(ctx, dir, spec)
	}
	h := newHistory(spec)
	runs := pushedRuns
	if spec.Kind == kindGC || spec.Kind == kindLoose {
		runs = gcRuns
	}
	if err := b.importHistory(ctx, dir, h, spec, runs); err != nil {
		return err
	}
	switch spec.Kind {
	case kindGC:
		return b.gc(ctx, dir)
	case kindLoose:
		return b.addLoose(ctx, dir, h, b.loose)
	case kindRefs:
		return b.addPullRequests(ctx, dir, 1, b.prs)
	}
	return nil
}

// importHistory imports the main history in runs (one pack each), with a
// few branches and tags at older commits.
func (b *builder) importHistory(ctx context.Context, dir string, h *history, spec repoSpec, runs int) error {
	perRun := max(1, h.total/runs)
	for run := range runs {
		err := b.git.fastImport(ctx, dir, func(w io.Writer) error {
			s := newStreamWriter(w, h)
			from := "refs/heads/master^0"
			var marks []string
			if run == 0 {
				mark, err := s.commit("refs/heads/master", h.initial(spec), "")
				if err != nil {
					return err
				}
				marks, from = append(marks, mark), ""
			}
			for i := range perRun {
				mark, err := s.commit("refs/heads/master", h.commit(true), fromIfFirst(i == 0 && run > 0, from))
				if err != nil {
					return err
				}
				marks = append(marks, mark)
			}
			branchesAndTags(s, run, marks)
			return s.finish()
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func fromIfFirst(first bool, from string) string {
	if first {
		return from
	}
	return ""
}

// branchesAndTags points a feature branch and a release tag at commits of
// this run.
func branchesAndTags(s *streamWriter, run int, marks []string) {
	if len(marks) < 2 {
		return
	}
	s.reset(fmt.Sprintf("refs/heads/feature/%s-%d", pick(s.h.rng, words), run), marks[len(marks)/2])
	s.reset(fmt.Sprintf("refs/tags/v%d.0", run+1), marks[len(marks)-1])
}

// gc repacks everything into one pack and packs the refs, as `git gc` does.
func (b *builder) gc(ctx context.Context, dir string) error {
	if _, err := b.git.run(ctx, dir, nil, "repack", "-a", "-d", "-q"); err != nil {
		return err
	}
	_, err := b.git.run(ctx, dir, nil, "pack-refs", "--all")
	return err
}

// addLoose imports about n objects of small commits and unpacks them into
// loose objects, as small pushes arrive.
func (b *builder) addLoose(ctx context.Context, dir string, h *history, n int) error {
	commits := max(1, n/objectsPerCommit)
	return b.importLoose(ctx, dir, func(w io.Writer) error {
		s := newStreamWriter(w, h)
		for i := range commits {
			if _, err := s.commit("refs/heads/master", h.commit(false), fromIfFirst(i == 0, "refs/heads/master^0")); err != nil {
				return err
			}
		}
		return s.finish()
	})
}

// importLoose runs fast-import and turns the pack it wrote into loose
// objects: the pack is moved out of the repository first (unpack-objects
// skips objects the repository already has).
func (b *builder) importLoose(ctx context.Context, dir string, write func(io.Writer) error) error {
	before, err := packs(dir)
	if err != nil {
		return err
	}
	if err := b.git.fastImport(ctx, dir, write); err != nil {
		return err
	}
	after, err := packs(dir)
	if err != nil {
		return err
	}
	for _, p := range after {
		if !slices.Contains(before, p) {
			if err := b.unpack(ctx, dir, p); err != nil {
				return err
			}
		}
	}
	return nil
}

// unpack explodes one pack of the repository into loose objects.
func (b *builder) unpack(ctx context.Context, dir, pack string) error {
	tmp := filepath.Join(dir, "unpack-"+filepath.Base(pack))
	if err := os.Rename(pack, tmp); err != nil {
		return fmt.Errorf("homegen: %w", err)
	}
	defer os.Remove(tmp)
	base := strings.TrimSuffix(pack, ".pack")
	for _, ext := range []string{".idx", ".rev"} {
		if err := os.Remove(base + ext); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("homegen: %w", err)
		}
	}
	f, err := os.Open(tmp)
	if err != nil {
		return fmt.Errorf("homegen: %w", err)
	}
	defer f.Close()
	_, err = b.git.run(ctx, dir, f, "unpack-objects", "-q")
	return err
}

// packs lists the pack files of a repository.
func packs(dir string) ([]string, error) {
	list, err := filepath.Glob(filepath.Join(dir, "objects", "pack", "*.pack"))
	if err != nil {
		return nil, fmt.Errorf("homegen: %w", err)
	}
	return list, nil
}

// addPullRequests creates pull requests first..first+n-1 as Bitbucket keeps
// them: two loose refs each, refs/pull-requests/N/from and .../merge, at
// commits of the history.
func (b *builder) addPullRequests(ctx context.Context, dir string, first, n int) error {
	if n == 0 {
		return nil
	}
	out, err := b.git.run(ctx, dir, nil, "rev-list", "--max-count=400", "refs/heads/master")
	if err != nil {
		return err
	}
	shas := strings.Fields(out)
	var cmds strings.Builder
	for i := first; i < first+n; i++ {
		fmt.Fprintf(&cmds, "create refs/pull-requests/%d/from %s\n", i, shas[i%len(shas)])
		fmt.Fprintf(&cmds, "create refs/pull-requests/%d/merge %s\n", i, shas[(i*7+3)%len(shas)])
	}
	_, err = b.git.run(ctx, dir, strings.NewReader(cmds.String()), "update-ref", "--stdin")
	return err
}

// buildFork makes a fork: the origin's objects through alternates (a path
// relative to the fork's objects directory, so the home can move), the
// origin's master, and a few commits of its own on top.
func (b *builder) buildFork(ctx context.Context, dir string, spec repoSpec) error {
	alt := filepath.Join("..", "..", strconv.Itoa(spec.Origin), "objects") + "\n"
	if err := os.WriteFile(filepath.Join(dir, "objects", "info", "alternates"), []byte(alt), 0o644); err != nil {
		return fmt.Errorf("homegen: %w", err)
	}
	head, err := b.git.run(ctx, b.repoDir(spec.Origin), nil, "rev-parse", "refs/heads/master")
	if err != nil {
		return err
	}
	if _, err := b.git.run(ctx, dir, nil, "update-ref", "refs/heads/master", head); err != nil {
		return err
	}
	h := newHistory(spec)
	return b.git.fastImport(ctx, dir, func(w io.Writer) error {
		s := newStreamWriter(w, h)
		if _, err := s.commit("refs/heads/master", h.initial(spec), "refs/heads/master^0"); err != nil {
			return err
		}
		for range min(h.total, 20) {
			if _, err := s.commit("refs/heads/master", h.commit(true), ""); err != nil {
				return err
			}
		}
		return s.finish()
	})
}
