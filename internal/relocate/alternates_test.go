package relocate

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"bbvault/test/fixture"
)

// TestAlternatesFollowTheMovedHome: a home moved to another path leaves its
// forks naming the old one; after Alternates every fork passes git fsck in
// place, the relative fork is untouched, and an entry outside the old home
// is reported and kept.
func TestAlternatesFollowTheMovedHome(t *testing.T) {
	base := t.TempDir()
	h := fixture.GitHome(t, filepath.Join(base, "old"), fixture.Options{Repos: 2, Commits: 6, LooseCommits: 1,
		PullRequests: 5, Attachments: 2})
	outsider := filepath.Join(h.RepoDir(2), "objects", "info", "alternates")
	if err := os.WriteFile(outsider, []byte("/srv/elsewhere/objects\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	moved := filepath.Join(base, "new home")
	if err := os.Rename(h.Root, moved); err != nil {
		t.Fatal(err)
	}
	fork := filepath.Join(moved, fixture.RepoRel(h.Fork))
	if err := fixture.Fsck(t.Context(), fork); err == nil {
		t.Fatal("git fsck of a fork whose alternates name a home that moved passes: the test proves nothing")
	}
	relative := readFile(t, filepath.Join(moved, fixture.RepoRel(h.RelativeFork), "objects", "info", "alternates"))

	res, err := Alternates(t.Context(), moved, h.Root)
	if err != nil {
		t.Fatal(err)
	}
	id := strconv.Itoa(h.Fork)
	want := AlternatesChange{Repository: id, Old: filepath.Join(h.RepoDir(1), "objects"),
		New: filepath.Join(moved, fixture.RepoRel(1), "objects")}
	if len(res.Rewritten) != 1 || res.Rewritten[0] != want {
		t.Errorf("rewritten %v, want only %v", res.Rewritten, want)
	}
	if len(res.Outside) != 1 || res.Outside[0] != "2: /srv/elsewhere/objects" || res.Files != 3 {
		t.Errorf("%d files, outside %v; want 3 files and repository 2's entry", res.Files, res.Outside)
	}
	for _, id := range []int{h.Fork, h.RelativeFork} {
		if err := fixture.Fsck(t.Context(), filepath.Join(moved, fixture.RepoRel(id))); err != nil {
			t.Errorf("fork %d after the rewrite: %v", id, err)
		}
	}
	if got := readFile(t, filepath.Join(moved, fixture.RepoRel(h.RelativeFork), "objects", "info", "alternates")); got != relative {
		t.Errorf("relative alternates changed: %q, was %q", got, relative)
	}
	if got := readFile(t, filepath.Join(moved, fixture.RepoRel(2), "objects", "info", "alternates")); got != "/srv/elsewhere/objects\n" {
		t.Errorf("an entry outside the home changed: %q", got)
	}
	again, err := Alternates(t.Context(), moved, h.Root)
	if err != nil || len(again.Rewritten) != 0 {
		t.Errorf("a second run rewrote %v (%v), want nothing", again.Rewritten, err)
	}
}

func TestAlternatesWithOneHomeInsideTheOther(t *testing.T) {
	cases := []struct{ old, home, entry, want string }{
		{"/srv/bb", "/srv/bb/restored", "/srv/bb/shared/data/repositories/1/objects", "/srv/bb/restored/shared/data/repositories/1/objects"},
		{"/srv/bb", "/srv/bb/restored", "/srv/bb/restored/shared/data/repositories/1/objects", "/srv/bb/restored/shared/data/repositories/1/objects"},
		{"/srv/bb/home", "/srv/bb", "/srv/bb/home/shared/data/repositories/1/objects", "/srv/bb/shared/data/repositories/1/objects"},
	}
	for _, c := range cases {
		root := t.TempDir()
		home := root + c.home
		dir := filepath.Join(home, ReposPath, "2", "objects", "info")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "alternates"), []byte(root+c.entry+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Alternates(t.Context(), home, root+c.old); err != nil {
			t.Fatal(err)
		}
		if got := readFile(t, filepath.Join(dir, "alternates")); got != root+c.want+"\n" {
			t.Errorf("old %s, new %s, entry %s: %q, want %q", c.old, c.home, c.entry, got, root+c.want)
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(b)
}
