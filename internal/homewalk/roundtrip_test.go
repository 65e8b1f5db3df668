package homewalk

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"bbvault/internal/blob"
	"bbvault/internal/fsmeta"
	"bbvault/internal/tree"
)

// copier restores walked entries into a target directory with fsmeta, the
// way the restorer will: directories 0700 first and their metadata last,
// hard links after all file contents.
type copier struct {
	t      *testing.T
	target string
	opts   fsmeta.ApplyOptions
	dirs   fsmeta.DirQueue
	links  *fsmeta.HardlinkSet
	later  [][2]string
}

func (c *copier) restore(e Entry) {
	c.t.Helper()
	dst := filepath.Join(c.target, e.RelPath)
	node := e.Node
	switch e.Kind {
	case tree.Dir:
		if err := fsmeta.Mkdir(dst); err != nil {
			c.t.Fatal(err)
		}
		node.Subtree = blob.ID{1}
		c.dirs.Add(dst, node)
		return
	case tree.Symlink:
		if err := fsmeta.Symlink(node, dst); err != nil {
			c.t.Fatal(err)
		}
	case tree.File:
		if first, link := c.links.Claim(node, dst); link {
			c.later = append(c.later, [2]string{first, dst})
			return
		}
		c.copyFile(e, dst)
	}
	if err := fsmeta.Apply(dst, node, c.opts); err != nil {
		c.t.Fatal(err)
	}
}

func (c *copier) copyFile(e Entry, dst string) {
	c.t.Helper()
	src, err := OpenFile(e.Path)
	if err != nil {
		c.t.Fatal(err)
	}
	defer src.Close()
	out, err := fsmeta.CreateFile(dst)
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := io.Copy(out, src); err != nil {
		c.t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		c.t.Fatal(err)
	}
	if _, stable, err := Stable(e.Node, e.Path); err != nil || !stable {
		c.t.Fatalf("%s changed while it was copied (%v)", e.RelPath, err)
	}
}

func (c *copier) finish() {
	c.t.Helper()
	for _, l := range c.later {
		if err := fsmeta.Hardlink(l[0], l[1]); err != nil {
			c.t.Fatal(err)
		}
	}
	if err := c.dirs.Apply(context.Background(), c.opts); err != nil {
		c.t.Fatal(err)
	}
}

// TestWalkRestoreRoundTrip walks the git-built home, restores it with fsmeta
// into a fresh directory, walks the copy and compares: the filesystem half
// of snapshot and restore, without the repository.
func TestWalkRestoreRoundTrip(t *testing.T) {
	h := newTestHome(t)
	src, _ := walkAll(t, h.root, Options{})
	target := t.TempDir()
	c := &copier{t: t, target: target, links: fsmeta.NewHardlinkSet(),
		opts: fsmeta.ApplyOptions{Chown: os.Geteuid() == 0, IDs: fsmeta.NewIDs()}}
	w, err := NewWalker(h.root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var visit func(rel string)
	visit = func(rel string) {
		entries, _, err := w.ReadDir(context.Background(), rel)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			c.restore(e)
			if e.Kind == tree.Dir {
				visit(e.RelPath)
			}
		}
	}
	visit("")
	c.finish()
	dst, _ := walkAll(t, target, Options{})
	compareWalks(t, src, dst)
	h.run(filepath.Join(target, "shared/data/repositories/1"), "", "fsck", "--strict", "--no-progress")
}

func compareWalks(t *testing.T, src, dst map[string]Entry) {
	t.Helper()
	if len(src) != len(dst) {
		t.Errorf("restored %d paths, walked %d", len(dst), len(src))
	}
	for rel, s := range src {
		d, ok := dst[rel]
		if !ok {
			t.Errorf("%q not restored", rel)
			continue
		}
		same := s.Kind == d.Kind && s.Size == d.Size && s.MTime == d.MTime && s.LinkTarget == d.LinkTarget &&
			s.User == d.User && s.Group == d.Group && s.UID == d.UID && s.GID == d.GID
		if s.Kind != tree.Symlink {
			same = same && s.Mode == d.Mode
		}
		if s.Kind == tree.File { // a directory's count includes excluded subdirectories
			same = same && s.Nlink == d.Nlink
		}
		if !same {
			t.Errorf("%q differs after restore:\nwalked   %+v\nrestored %+v", rel, s.Node, d.Node)
		}
		if s.Kind == tree.File && !sameContent(t, s.Path, d.Path) {
			t.Errorf("%q: content differs after restore", rel)
		}
	}
	a, b := dst["shared/data/attachments/1/a1"], dst["shared/data/attachments/1/a1-hardlink"]
	if a.Inode != b.Inode {
		t.Error("hard-linked attachment restored as two files")
	}
}

func sameContent(t *testing.T, a, b string) bool {
	t.Helper()
	x, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(x) == string(y)
}
