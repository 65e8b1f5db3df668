package drill

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"bbvault/test/fixture"
	"bbvault/test/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// site is a home and a database that agree, as a restore gives them.
type site struct {
	h   *fixture.Home
	dsn string
	prs int // open pull requests, all with refs
}

func newSite(t *testing.T) *site {
	t.Helper()
	pg := testenv.Postgres(t)
	h := fixture.GitHome(t, filepath.Join(t.TempDir(), "home"), fixture.Options{Repos: 3, Commits: 8,
		LooseCommits: 2, PullRequests: 30, Attachments: 2})
	s := &site{h: h, dsn: pg.DSN(pg.NewDB(t)), prs: 30}
	fixture.BitbucketDatabase(t, s.dsn, h)
	return s
}

func (s *site) check(t *testing.T, o Options) *Report {
	t.Helper()
	o.Home, o.DSN = s.h.Root, s.dsn
	rep, err := Check(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func (s *site) sql(t *testing.T, sql string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), s.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), sql); err != nil {
		t.Fatal(err)
	}
}

func TestGoodSitePasses(t *testing.T) {
	s := newSite(t)
	rep := s.check(t, Options{})
	if len(rep.Problems) != 0 {
		t.Fatalf("problems on a good site: %v", rep.Problems)
	}
	n := len(s.h.Repos)
	if rep.Rows != n || rep.Directories != n || rep.Checked != n || rep.Forks != 2 {
		t.Errorf("rows %d, directories %d, checked %d, forks %d; want %d, %d, %d, 2", rep.Rows, rep.Directories, rep.Checked, rep.Forks, n, n, n)
	}
	if rep.OpenPullRequests != s.prs || rep.PullRequestRefsMissing != 0 {
		t.Errorf("open pull requests %d, refs missing %d; want %d, 0", rep.OpenPullRequests, rep.PullRequestRefsMissing, s.prs)
	}
}

// TestEachPlantedFaultIsNamed plants one fault per site and wants it found,
// named, and of its class, and nothing else reported.
func TestEachPlantedFaultIsNamed(t *testing.T) {
	cases := []struct {
		name  string
		plant func(t *testing.T, s *site) int // returns the repository concerned
		kind  string
		class Class
		words string
	}{
		{"repository directory removed", func(t *testing.T, s *site) int {
			return 2 + remove(t, s.h.RepoDir(2))
		}, KindMissingDirectory, Inconsistent, "no directory"},
		{"row without a directory", func(t *testing.T, s *site) int {
			s.sql(t, "INSERT INTO repository VALUES (77, 'ghost', 'Ghost', 1, 'git', 0, true, false, NULL, 'h77')")
			return 77
		}, KindMissingDirectory, Inconsistent, "no directory"},
		{"directory without a row", func(t *testing.T, s *site) int {
			s.sql(t, "DELETE FROM repository WHERE id = 3")
			return 3
		}, KindOrphanDirectory, Inconsistent, "orphan"},
		{"fork alternates pointing nowhere", func(t *testing.T, s *site) int {
			writeAlternates(t, s.h.RepoDir(s.h.Fork), filepath.Join(s.h.Root, "gone", "objects"))
			return s.h.Fork
		}, KindAlternates, Inconsistent, "outside"},
		{"fork alternates naming a missing repository", func(t *testing.T, s *site) int {
			writeAlternates(t, s.h.RepoDir(s.h.Fork), filepath.Join(s.h.Root, fixture.RepoRel(99), "objects"))
			return s.h.Fork
		}, KindAlternates, Inconsistent, "points nowhere"},
		{"fork alternates naming another hierarchy", func(t *testing.T, s *site) int {
			writeAlternates(t, s.h.RepoDir(s.h.Fork), filepath.Join(s.h.RepoDir(2), "objects"))
			return s.h.Fork
		}, KindAlternates, Inconsistent, "not in its fork hierarchy"},
		{"corrupt object", func(t *testing.T, s *site) int {
			corruptLoose(t, s.h.RepoDir(2), "refs/heads/master")
			return 2
		}, KindFsck, Damaged, "git fsck failed"},
		{"default branch gone", func(t *testing.T, s *site) int {
			fixture.Git(t, s.h.RepoDir(3), "symbolic-ref", "HEAD", "refs/heads/renamed")
			return 3
		}, KindDefaultBranch, Inconsistent, "refs/heads/renamed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newSite(t)
			repo := c.plant(t, s)
			rep := s.check(t, Options{})
			assertOnly(t, rep.Problems, Problem{Kind: c.kind, Class: c.class, Repository: repo}, c.words)
		})
	}
}

func TestPullRequestRefsMissingAreCountedAsAWarning(t *testing.T) {
	s := newSite(t)
	fixture.Git(t, s.h.RepoDir(1), "update-ref", "-d", "refs/pull-requests/7/from")
	s.sql(t, "INSERT INTO sta_pull_request VALUES (5000, 5000, 2, 2, 0, 'refs/heads/x', 'refs/heads/master', 'no refs')")
	rep := s.check(t, Options{})
	if rep.PullRequestRefsMissing != 2 || rep.OpenPullRequests != s.prs+1 {
		t.Errorf("refs missing %d of %d open, want 2 of %d", rep.PullRequestRefsMissing, rep.OpenPullRequests, s.prs+1)
	}
	assertOnly(t, rep.Problems, Problem{Kind: KindPullRequestRefs, Class: Warning}, "2 of 31")
	if Worst(rep.Problems) != Warning {
		t.Errorf("worst class %q, want warning", Worst(rep.Problems))
	}
}

// TestFullReadsEveryObject: a corrupt blob is invisible to a connectivity
// check, which only asks that it exists, and found by --full.
func TestFullReadsEveryObject(t *testing.T) {
	s := newSite(t)
	corruptLoose(t, s.h.RepoDir(2), "refs/heads/master:notes-1.txt")
	if rep := s.check(t, Options{}); len(rep.Problems) != 0 {
		t.Fatalf("a connectivity check found %v: the blob was not left to --full", rep.Problems)
	}
	rep := s.check(t, Options{Full: true})
	assertOnly(t, rep.Problems, Problem{Kind: KindFsck, Class: Damaged, Repository: 2}, "git fsck failed")
}

func TestSampleChecksAFraction(t *testing.T) {
	s := newSite(t)
	remove(t, filepath.Join(s.h.RepoDir(1), "refs", "pull-requests")) // refs of every PR gone
	rep := s.check(t, Options{Sample: 0.4, Rand: rand.New(rand.NewPCG(1, 2))})
	if want := 2; rep.Checked != want || rep.Directories != len(s.h.Repos) || rep.Sample != 0.4 {
		t.Errorf("checked %d of %d (sample %v), want %d", rep.Checked, rep.Directories, rep.Sample, want)
	}
	seen := map[int]int{}
	for i := range 20 {
		ids := sample([]int{1, 2, 3, 4, 5}, 0.4, rand.New(rand.NewPCG(uint64(i), 0)))
		if len(ids) != 2 {
			t.Fatalf("sample of 40%% of 5 = %v, want 2 IDs", ids)
		}
		for _, id := range ids {
			seen[id]++
		}
	}
	if len(seen) != 5 {
		t.Errorf("20 samples only ever drew %v: not random", seen)
	}
}

func TestCompareRows(t *testing.T) {
	ps := CompareRows(map[string]int64{"public.a": 10, "public.b": 5, "public.c": 1},
		map[string]int64{"public.a": 10, "public.b": 4, "public.d": 2})
	want := []string{"public.b: held 5 rows at backup time, 4 after", "public.c: held 1 rows at backup time and is missing",
		"public.d: was not in the database at backup time"}
	if len(ps) != len(want) {
		t.Fatalf("problems %v, want %d", ps, len(want))
	}
	for i, w := range want {
		if got := ps[i].Table + ": " + ps[i].Message; !strings.HasPrefix(got, w) || ps[i].Class != Damaged {
			t.Errorf("problem %d: %s (%s), want %q, damaged", i, got, ps[i].Class, w)
		}
	}
}

func TestNotBitbucketsDatabase(t *testing.T) {
	pg := testenv.Postgres(t)
	_, err := Check(t.Context(), Options{Home: t.TempDir(), DSN: pg.DSN(pg.NewDB(t))})
	if err == nil || !strings.Contains(err.Error(), "table repository") {
		t.Errorf("Check of a database without Bitbucket's tables: %v, want an error naming the table", err)
	}
}

// assertOnly wants exactly one problem, of want's kind, class and
// repository, whose message holds words.
func assertOnly(t *testing.T, got []Problem, want Problem, words string) {
	t.Helper()
	if len(got) != 1 {
		t.Fatalf("problems %v, want only a %s", got, want.Kind)
	}
	p := got[0]
	if p.Kind != want.Kind || p.Class != want.Class || p.Repository != want.Repository || !strings.Contains(p.Message, words) {
		t.Errorf("problem %+v, want kind %s, class %s, repository %d, message with %q", p, want.Kind, want.Class, want.Repository, words)
	}
}

// remove deletes a path and returns 0, so a plant can say which repository.
func remove(t *testing.T, path string) int {
	t.Helper()
	if err := os.RemoveAll(path); err != nil {
		t.Fatal(err)
	}
	return 0
}

func writeAlternates(t *testing.T, repo, entry string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(repo, "objects", "info", "alternates"), []byte(entry+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// corruptLoose overwrites the middle of the loose object rev names with
// garbage, as a bad disk would.
func corruptLoose(t *testing.T, repo, rev string) {
	t.Helper()
	sha := fixture.Git(t, repo, "rev-parse", rev)
	path := filepath.Join(repo, "objects", sha[:2], sha[2:])
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%s of %s is not a loose object: %v", rev, repo, err)
	}
	for i := len(b) / 3; i < len(b)/3+8 && i < len(b); i++ {
		b[i] ^= 0x5a
	}
	os.Chmod(path, 0o644)
	if err := os.WriteFile(path, b, 0o444); err != nil {
		t.Fatal(err)
	}
}
