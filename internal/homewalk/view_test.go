package homewalk

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"bbvault/internal/tree"
)

// writeTree writes files (path relative to root: content) under root.
func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for rel, content := range files {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// viewFixture is a live home whose shared/data is "another volume", and a
// frozen copy of each volume that differs from the live files, as a home
// changed after its snapshot would.
type viewFixture struct {
	home, frozenHome, frozenData string
	view                         View
}

func newViewFixture(t *testing.T) viewFixture {
	t.Helper()
	dir := t.TempDir()
	f := viewFixture{home: filepath.Join(dir, "home"), frozenHome: filepath.Join(dir, "snap-home"),
		frozenData: filepath.Join(dir, "snap-data")}
	writeTree(t, f.home, map[string]string{"shared/bitbucket.properties": "live", "shared/data/repositories/1/HEAD": "live",
		"shared/data/new-after-snapshot": "live", "caches/x": "live"})
	// The home's volume shows an empty mount point where shared/data starts.
	writeTree(t, f.frozenHome, map[string]string{"shared/bitbucket.properties": "frozen", "caches/x": "frozen"})
	if err := os.MkdirAll(filepath.Join(f.frozenHome, "shared", "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeTree(t, f.frozenData, map[string]string{"repositories/1/HEAD": "frozen HEAD"})
	if err := os.Chmod(f.frozenData, 0o750); err != nil {
		t.Fatal(err)
	}
	f.view = View{"": f.frozenHome, "shared/data": f.frozenData}
	return f
}

func TestViewReadsEachVolumeFromItsFrozenCopy(t *testing.T) {
	f := newViewFixture(t)
	live, err := NewWalker(f.home, Options{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := live.WithView(f.view)
	if err != nil {
		t.Fatal(err)
	}
	if w.Root() != live.Root() {
		t.Fatalf("Root() = %s through the view, %s live: the manifest must name the live home", w.Root(), live.Root())
	}
	got := map[string]Entry{}
	var visit func(rel string)
	visit = func(rel string) {
		entries, _, err := w.ReadDir(context.Background(), rel)
		if err != nil {
			t.Fatalf("ReadDir(%q): %v", rel, err)
		}
		for _, e := range entries {
			got[e.RelPath] = e
			if e.Kind == tree.Dir {
				visit(e.RelPath)
			}
		}
	}
	visit("")
	wantFiles := map[string]string{
		"shared/bitbucket.properties":     filepath.Join(f.frozenHome, "shared/bitbucket.properties"),
		"shared/data/repositories/1/HEAD": filepath.Join(f.frozenData, "repositories/1/HEAD"),
	}
	for rel, path := range wantFiles {
		e, ok := got[rel]
		if !ok || e.Path != path {
			t.Errorf("%s: listed %v at %q, want it read from %s", rel, ok, e.Path, path)
		}
	}
	if _, ok := got["shared/data/new-after-snapshot"]; ok {
		t.Error("a file made after the snapshot was listed")
	}
	if _, ok := got["caches/x"]; ok {
		t.Error("the default excludes do not apply through the view")
	}
	if mode := got["shared/data"].Mode & 0o777; mode != 0o750 {
		t.Errorf("shared/data has mode %o: its metadata must come from its own volume's copy (0750), not the mount point", mode)
	}
	var st unix.Stat_t
	if err := unix.Stat(f.home, &st); err != nil {
		t.Fatal(err)
	}
	for rel, e := range got {
		if e.Dev != uint64(st.Dev) {
			t.Errorf("%s: device %d, want the live home's %d", rel, e.Dev, st.Dev)
		}
	}
}

func TestViewNeedsTheHomeRoot(t *testing.T) {
	f := newViewFixture(t)
	live, err := NewWalker(f.home, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := live.WithView(View{"shared/data": f.frozenData}); err == nil {
		t.Fatal("a view without the home's own root was accepted")
	}
}

func TestLiteralMatchesOnlyThatDirectory(t *testing.T) {
	f, err := NewFilter(Options{Excludes: []string{Literal("shared/.snap[1]*"), Literal(".bbvault-snapshots")}})
	if err != nil {
		t.Fatal(err)
	}
	for rel, want := range map[string]bool{
		"shared/.snap[1]*": true, "shared/.snap[1]*/x": true, "shared/.snap1x": false,
		".bbvault-snapshots": true, "shared/.bbvault-snapshots": false,
	} {
		if got := f.Excluded(rel, true); got != want {
			t.Errorf("Excluded(%q) = %v, want %v", rel, got, want)
		}
	}
}
