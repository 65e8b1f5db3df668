package treewalk

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"testing"

	"bbvault/internal/backend/mem"
	"bbvault/internal/blob"
	"bbvault/internal/crypto"
	"bbvault/internal/repo"
	"bbvault/internal/tree"
)

// fixture is a repository holding two snapshot roots that share a subtree:
//
//	root:  a.txt, d1/ (shared), d2/ (shared), gone/ (a tree no pack holds), link
//	root2: z/ (shared)
//	shared: inner/ (x.txt), y.txt
type fixture struct {
	r            *repo.Repository
	be           *mem.Backend
	root, root2  blob.ID
	shared, leaf blob.ID
	missing      blob.ID
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{be: mem.New()}
	pw := []byte("treewalk")
	if _, err := repo.Init(ctx, f.be, pw, repo.InitOptions{KDF: crypto.KDFParams{N: 1024, R: 8, P: 1}}); err != nil {
		t.Fatal(err)
	}
	r, err := repo.Open(ctx, f.be, pw, repo.OpenOptions{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	f.r = r
	w := r.NewWriter(ctx, repo.WriterOptions{})
	save := func(nodes ...tree.Node) blob.ID {
		b, err := tree.Encode(tree.Tree{Nodes: nodes})
		if err != nil {
			t.Fatal(err)
		}
		id, err := w.SaveBlob(ctx, blob.Tree, b)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	f.missing = blob.ID{0xde, 0xad}
	f.leaf = save(file("x.txt"))
	f.shared = save(dir("inner", f.leaf), file("y.txt"))
	f.root = save(file("a.txt"), dir("d1", f.shared), dir("d2", f.shared), dir("gone", f.missing),
		tree.Node{Name: "link", Kind: tree.Symlink, Mode: 0o777, LinkTarget: "a.txt"})
	f.root2 = save(dir("z", f.shared))
	if err := w.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	return f
}

func file(name string) tree.Node { return tree.Node{Name: name, Kind: tree.File, Mode: 0o644} }

func dir(name string, id blob.ID) tree.Node {
	return tree.Node{Name: name, Kind: tree.Dir, Mode: 0o755, Subtree: id}
}

// skipUnreadable goes on without unreadable subtrees, noting them.
func skipUnreadable(seen *[]string) ErrorFunc {
	return func(dir string, _ blob.ID, err error) error {
		*seen = append(*seen, dir)
		return nil
	}
}

func walkPaths(t *testing.T, f *fixture, root blob.ID, base string, onErr ErrorFunc, skip string) ([]string, error) {
	t.Helper()
	var paths []string
	err := Walk(context.Background(), f.r, root, base, onErr, func(p string, n *tree.Node) error {
		paths = append(paths, p)
		if p == skip {
			return SkipDir
		}
		return nil
	})
	return paths, err
}

func TestWalkVisitsDirectoriesBeforeTheirContentsInTreeOrder(t *testing.T) {
	f := newFixture(t)
	var unreadable []string
	got, err := walkPaths(t, f, f.root, "", skipUnreadable(&unreadable), "")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a.txt", "d1", "d1/inner", "d1/inner/x.txt", "d1/y.txt",
		"d2", "d2/inner", "d2/inner/x.txt", "d2/y.txt", "gone", "link"}
	if !slices.Equal(got, want) {
		t.Errorf("visited %q,\nwant    %q", got, want)
	}
	if !slices.Equal(unreadable, []string{"gone"}) {
		t.Errorf("unreadable subtrees %q, want [gone]", unreadable)
	}
}

func TestWalkSkipDirAndBase(t *testing.T) {
	f := newFixture(t)
	got, err := walkPaths(t, f, f.root, "", skipUnreadable(new([]string)), "d1")
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(got, "d1/y.txt") || !slices.Contains(got, "d2/y.txt") {
		t.Errorf("SkipDir on d1: visited %q", got)
	}
	got, err = walkPaths(t, f, f.shared, "home/d1", nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"home/d1/inner", "home/d1/inner/x.txt", "home/d1/y.txt"}; !slices.Equal(got, want) {
		t.Errorf("walk of a subtree with a base: %q, want %q", got, want)
	}
}

func TestWalkStopsAtAnUnreadableTreeByDefault(t *testing.T) {
	f := newFixture(t)
	got, err := walkPaths(t, f, f.root, "", nil, "")
	if !errors.Is(err, repo.ErrBlobNotFound) || repo.Classify(err) != repo.Missing {
		t.Fatalf("walk over a missing tree: %v, want ErrBlobNotFound (missing)", err)
	}
	if !bytes.Contains([]byte(err.Error()), []byte(`"gone"`)) {
		t.Errorf("error %q does not name the directory", err)
	}
	if slices.Contains(got, "link") {
		t.Error("the walk went on after the default policy stopped it")
	}
}

func TestWalkEndsWithItsContext(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	err := Walk(ctx, f.r, f.root, "", nil, func(string, *tree.Node) error {
		n++
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) || n != 1 {
		t.Errorf("cancelled walk: %v after %d visits, want context.Canceled after 1", err, n)
	}
}

func TestFind(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for p, want := range map[string]blob.ID{"": f.root, "/": f.root, "d1": f.shared, "d2/inner/": f.leaf} {
		got, err := Find(ctx, f.r, f.root, p)
		if err != nil || got != want {
			t.Errorf("Find(%q) = %s, %v; want %s", p, got.Short(), err, want.Short())
		}
	}
	for _, p := range []string{"a.txt", "nope", "d1/nope"} {
		if _, err := Find(ctx, f.r, f.root, p); !errors.Is(err, ErrNoDir) {
			t.Errorf("Find(%q): %v, want ErrNoDir", p, err)
		}
	}
}

func TestReachableReadsEachTreeOnceAndReturnsTheUnreadable(t *testing.T) {
	f := newFixture(t)
	seen := map[blob.ID]int{}
	bad, err := Reachable(context.Background(), f.r, []blob.ID{f.root, f.root2, f.root}, 4,
		func(id blob.ID, _ tree.Tree) { seen[id]++ })
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []blob.ID{f.root, f.root2, f.shared, f.leaf} {
		if seen[id] != 1 {
			t.Errorf("tree %s visited %d times, want once", id.Short(), seen[id])
		}
	}
	if len(seen) != 4 || len(bad) != 1 || bad[0].ID != f.missing || repo.Classify(bad[0].Err) != repo.Missing {
		t.Errorf("visited %d trees, unreadable %+v; want 4 and the missing one", len(seen), bad)
	}
}

func TestReachableReportsADamagedTree(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	locs, err := f.r.Locate(ctx, f.leaf)
	if err != nil {
		t.Fatal(err)
	}
	name := "data/" + locs[0].Pack.String()[:2] + "/" + locs[0].Pack.String()
	rc, err := f.be.Get(ctx, name, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	b[locs[0].Offset+20] ^= 0xff
	if err := f.be.Put(ctx, name, bytes.NewReader(b), int64(len(b))); err != nil {
		t.Fatal(err)
	}
	fresh, err := repo.Open(ctx, f.be, []byte("treewalk"), repo.OpenOptions{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	bad, err := Reachable(ctx, fresh, []blob.ID{f.root2}, 2, func(blob.ID, tree.Tree) {})
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) != 1 || bad[0].ID != f.leaf || repo.Classify(bad[0].Err) != repo.Damaged {
		t.Errorf("unreadable %+v, want the damaged leaf tree", bad)
	}
}

func TestFoldComputesEachTreeOnce(t *testing.T) {
	f := newFixture(t)
	calls := map[blob.ID]int{}
	fold := Fold[int]{
		Loader: f.r,
		Known: func(id blob.ID) (int, bool) {
			return 100, id == f.leaf
		},
		Unreadable: func(id blob.ID, err error) (int, error) {
			if id != f.missing || repo.Classify(err) != repo.Missing {
				t.Errorf("unreadable %s: %v", id.Short(), err)
			}
			return 1000, nil
		},
		Tree: func(id blob.ID, tr tree.Tree, sub []int) (int, error) {
			calls[id]++
			n := 0
			for i := range tr.Nodes {
				n += 1 + sub[i]
			}
			return n, nil
		},
	}
	ctx := context.Background()
	got, err := fold.Of(ctx, f.root)
	if err != nil {
		t.Fatal(err)
	}
	// shared = inner(1+100) + y.txt(1) = 102; root = a.txt 1 + d1 103 + d2 103 + gone 1001 + link 1.
	if got != 1209 {
		t.Errorf("fold of root = %d, want 1209", got)
	}
	if got2, err := fold.Of(ctx, f.root2); err != nil || got2 != 103 {
		t.Errorf("fold of root2 = %d, %v; want 103", got2, err)
	}
	if calls[f.shared] != 1 || calls[f.leaf] != 0 {
		t.Errorf("Tree called %d times for the shared tree (want 1) and %d for the known one (want 0)",
			calls[f.shared], calls[f.leaf])
	}
}
