package homewalk

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"bbvault/internal/tree"
)

func TestChanged(t *testing.T) {
	base := tree.Node{Name: "f", Kind: tree.File, Mode: 0o644, UID: 1, GID: 2, User: "u", Group: "g",
		Size: 10, MTime: 1000, CTime: 2000, Inode: 5, Dev: 9, Nlink: 1}
	cases := []struct {
		name   string
		modify func(n *tree.Node)
		want   bool
	}{
		{"identical", func(n *tree.Node) {}, false},
		{"size", func(n *tree.Node) { n.Size++ }, true},
		{"mtime by 1ns", func(n *tree.Node) { n.MTime++ }, true},
		{"ctime", func(n *tree.Node) { n.CTime++ }, true},
		{"changed while read", func(n *tree.Node) { n.CTime = ChangedWhileRead }, true},
		{"inode", func(n *tree.Node) { n.Inode++ }, true},
		{"mode", func(n *tree.Node) { n.Mode = 0o600 }, true},
		{"kind", func(n *tree.Node) { n.Kind = tree.Symlink }, true},
		{"nlink only", func(n *tree.Node) { n.Nlink = 2 }, false},
		{"device only", func(n *tree.Node) { n.Dev = 10 }, false},
		{"owner names only", func(n *tree.Node) { n.User, n.Group = "x", "y" }, false},
	}
	for _, c := range cases {
		cur := base
		c.modify(&cur)
		if got := Changed(base, cur); got != c.want {
			t.Errorf("%s: Changed = %v, want %v", c.name, got, c.want)
		}
	}
}

// statEntry lists dir with a fresh walker and returns the entry called name.
func statEntry(t *testing.T, dir, name string) Entry {
	t.Helper()
	w, err := NewWalker(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	entries, _, err := w.ReadDir(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name == name {
			return e
		}
	}
	t.Fatalf("%s not listed in %s", name, dir)
	return Entry{}
}

func TestStable(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, []byte("first"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := statEntry(t, dir, "f")
	got, ok, err := Stable(before.Node, p)
	if err != nil || !ok {
		t.Fatalf("untouched file: Stable = %v, %v", ok, err)
	}
	if got.Name != "f" || got.User != before.User || Changed(before.Node, got) {
		t.Errorf("Stable returned %+v for an untouched file listed as %+v", got, before.Node)
	}
	// Same size, new content: only mtime/ctime move.
	if err := os.WriteFile(p, []byte("secon"), 0o644); err != nil {
		t.Fatal(err)
	}
	future := time.Unix(0, before.MTime+int64(time.Second))
	if err := os.Chtimes(p, future, future); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := Stable(before.Node, p); err != nil || ok {
		t.Errorf("file rewritten during the read: Stable = %v, %v; want not stable", ok, err)
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Stable(before.Node, p); err == nil {
		t.Error("Stable of a deleted file returned no error")
	}
}

func TestStableReplacedFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, []byte("same"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := statEntry(t, dir, "f")
	tmp := filepath.Join(dir, "g")
	if err := os.WriteFile(tmp, []byte("same"), 0o644); err != nil {
		t.Fatal(err)
	}
	mt := time.Unix(0, before.MTime)
	if err := os.Chtimes(tmp, mt, mt); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := Stable(before.Node, p); ok {
		t.Error("a file replaced by rename (new inode) is reported stable")
	}
}

func TestOpenFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "data")
	if err := os.WriteFile(p, []byte("content of the file"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := OpenFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(f)
	f.Close()
	if err != nil || string(b) != "content of the file" {
		t.Fatalf("read %q, %v", b, err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink("data", link); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{fifo, link, dir} {
		done := make(chan error, 1)
		go func() {
			f, err := OpenFile(bad)
			if err == nil {
				f.Close()
			}
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil {
				t.Errorf("OpenFile(%s) succeeded; only regular files may be opened", filepath.Base(bad))
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("OpenFile(%s) blocked", filepath.Base(bad))
		}
	}
}

func TestOpenFileKeepsAtime(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "data")
	if err := os.WriteFile(p, []byte(strings.Repeat("x", 4096)), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Unix(1_000_000_000, 0)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	f, err := OpenFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	if got := time.Unix(st.Atim.Unix()); !got.Equal(old) {
		t.Errorf("reading through OpenFile moved the access time from %v to %v (O_NOATIME not applied)", old, got)
	}
}
