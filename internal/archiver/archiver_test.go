package archiver

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"bbvault/internal/backend/mem"
	"bbvault/internal/blob"
	"bbvault/internal/crypto"
	"bbvault/internal/homewalk"
	"bbvault/internal/repo"
	"bbvault/internal/tree"
)

func newRepo(t *testing.T) *repo.Repository {
	t.Helper()
	ctx := context.Background()
	be := mem.New()
	if _, err := repo.Init(ctx, be, []byte("pw"), repo.InitOptions{KDF: crypto.KDFParams{N: 1024, R: 8, P: 1}}); err != nil {
		t.Fatal(err)
	}
	r, err := repo.Open(ctx, be, []byte("pw"), repo.OpenOptions{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func archive(t *testing.T, r *repo.Repository, dir string, parent *blob.ID) (blob.ID, Stats) {
	t.Helper()
	ctx := context.Background()
	walker, err := homewalk.NewWalker(dir, homewalk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w := r.NewWriter(ctx, repo.WriterOptions{})
	root, st, err := Archive(ctx, r, w, Options{Walker: walker, Parent: parent})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	return root, st
}

func write(t *testing.T, path string, n int) {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestParentSkipsUnchangedFiles: with the previous tree, only the file that
// changed is read again, and unchanged directories give the same tree IDs.
func TestParentSkipsUnchangedFiles(t *testing.T) {
	r := newRepo(t)
	dir := t.TempDir()
	for i := range 20 {
		write(t, filepath.Join(dir, fmt.Sprintf("repo%d", i%4), fmt.Sprintf("f%d", i)), 10000+i)
	}
	root1, st1 := archive(t, r, dir, nil)
	if st1.Files != 20 || st1.BytesRead == 0 {
		t.Fatalf("first pass: %+v", st1)
	}
	time.Sleep(10 * time.Millisecond)
	write(t, filepath.Join(dir, "repo1", "f5"), 12345)
	root2, st2 := archive(t, r, dir, &root1)
	if st2.Unchanged != 19 || st2.BytesRead != 12345 {
		t.Fatalf("second pass read %d bytes with %d unchanged files; want 12345 and 19", st2.BytesRead, st2.Unchanged)
	}
	root3, st3 := archive(t, r, dir, &root2)
	if root3 != root2 || st3.BytesRead != 0 {
		t.Fatalf("an unchanged home gave a new root tree (%v) or read %d bytes", root3 != root2, st3.BytesRead)
	}
}

// TestDeepAndWideTree: directories walked in parallel never wait on each
// other, however deep, and every entry is counted once.
func TestDeepAndWideTree(t *testing.T) {
	r := newRepo(t)
	dir := t.TempDir()
	path := dir
	dirs := 0
	for depth := range 30 {
		path = filepath.Join(path, fmt.Sprintf("d%d", depth))
		for w := range 3 {
			write(t, filepath.Join(path, fmt.Sprintf("w%d", w), "file"), 100)
			dirs++
		}
		dirs++
	}
	_, st := archive(t, r, dir, nil)
	if st.Files != 90 || st.Dirs != int64(dirs)+1 {
		t.Fatalf("counted %d files and %d directories, want 90 and %d", st.Files, st.Dirs, dirs+1)
	}
}

// TestVanishedFileIsLeftOut: a file deleted between the directory listing
// and its read (git's HEAD.lock on a live instance) is skipped with a
// warning, not a failed snapshot.
func TestVanishedFileIsLeftOut(t *testing.T) {
	r := newRepo(t)
	dir := t.TempDir()
	write(t, filepath.Join(dir, "HEAD.lock"), 10)
	walker, err := homewalk.NewWalker(dir, homewalk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	entries, _, err := walker.ReadDir(context.Background(), "")
	if err != nil || len(entries) != 1 {
		t.Fatalf("listing: %v, %d entries", err, len(entries))
	}
	os.Remove(filepath.Join(dir, "HEAD.lock"))
	w := r.NewWriter(context.Background(), repo.WriterOptions{})
	defer w.Abort(nil)
	a := &archiver{r: r, w: w, opts: Options{Walker: walker, Progress: &Progress{}}, log: slogDiscard()}
	node := entries[0].Node
	if err := a.file(context.Background(), entries[0], &node); err != nil {
		t.Fatalf("a vanished file failed the pass: %v", err)
	}
	if got := present([]tree.Node{node}); len(got) != 0 {
		t.Fatal("the vanished file is still in the tree")
	}
	if st := a.collect(); len(st.Warnings) != 1 {
		t.Fatalf("warnings %v, want one", st.Warnings)
	}
}

func slogDiscard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestChangedWhileReadKeepsRealMtime: a file that changes between its
// listing and the end of its read is stored as read, with its real mtime
// (not 1970), named in the stats, and read again by the next pass.
func TestChangedWhileReadKeepsRealMtime(t *testing.T) {
	r := newRepo(t)
	dir := t.TempDir()
	p := filepath.Join(dir, "growing.log")
	write(t, p, 1000)
	walker, err := homewalk.NewWalker(dir, homewalk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	entries, _, err := walker.ReadDir(context.Background(), "")
	if err != nil || len(entries) != 1 {
		t.Fatalf("listing: %v, %d entries", err, len(entries))
	}
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(make([]byte, 500)) // written after the listing, before the read
	f.Close()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}

	w := r.NewWriter(context.Background(), repo.WriterOptions{})
	a := &archiver{r: r, w: w, opts: Options{Walker: walker, Progress: &Progress{}}, log: slogDiscard()}
	node := entries[0].Node
	if err := a.file(context.Background(), entries[0], &node); err != nil {
		t.Fatal(err)
	}
	if node.MTime != fi.ModTime().UnixNano() || node.Size != 1500 {
		t.Errorf("stored mtime %d and size %d, want the file's real mtime %d and the 1500 bytes read", node.MTime, node.Size, fi.ModTime().UnixNano())
	}
	if st := a.collect(); len(st.ChangedDuringRead) != 1 || st.ChangedDuringRead[0] != "growing.log" {
		t.Errorf("changed during read: %v, want growing.log", st.ChangedDuringRead)
	}
	parent, err := w.SaveBlob(context.Background(), blob.Tree, encodeTree(t, node))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Finish(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, st := archive(t, r, dir, &parent); st.Unchanged != 0 || st.BytesRead != 1500 {
		t.Errorf("next pass reused %d files and read %d bytes: the changed file must be read again", st.Unchanged, st.BytesRead)
	}
}

func encodeTree(t *testing.T, nodes ...tree.Node) []byte {
	t.Helper()
	b, err := tree.Encode(tree.Tree{Nodes: nodes})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDamagedParentTreeIsNotReused: when the previous listing of a
// directory cannot be read, every file in it is read again (none is taken
// on the word of a tree the repository cannot vouch for); the other
// directories still reuse theirs.
func TestDamagedParentTreeIsNotReused(t *testing.T) {
	be := mem.New()
	if _, err := repo.Init(context.Background(), be, []byte("pw"), repo.InitOptions{KDF: crypto.KDFParams{N: 1024, R: 8, P: 1}}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for i := range 6 {
		write(t, filepath.Join(dir, fmt.Sprintf("repo%d", i%2), fmt.Sprintf("f%d", i)), 10000)
	}
	r := openRepo(t, be)
	root, _ := archive(t, r, dir, nil)
	flipTreeByte(t, r, be, root, "repo1")

	r = openRepo(t, be) // a new host: the damaged listing is read from the pack
	_, st := archive(t, r, dir, &root)
	if st.Unchanged != 3 || st.BytesRead != 30000 {
		t.Errorf("with repo1's previous listing damaged: %d files reused, %d bytes read; want repo0's 3 reused and repo1's 30000 bytes read", st.Unchanged, st.BytesRead)
	}
}

func openRepo(t *testing.T, be *mem.Backend) *repo.Repository {
	t.Helper()
	r, err := repo.Open(context.Background(), be, []byte("pw"), repo.OpenOptions{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// flipTreeByte damages the stored listing of the directory name under root.
func flipTreeByte(t *testing.T, r *repo.Repository, be *mem.Backend, root blob.ID, name string) {
	t.Helper()
	ctx := context.Background()
	rt, err := r.LoadTree(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	n, ok := rt.Lookup(name)
	if !ok {
		t.Fatalf("%s not in the root tree", name)
	}
	locs, err := r.Locate(ctx, n.Subtree)
	if err != nil {
		t.Fatal(err)
	}
	s := locs[0].Pack.String()
	obj := "data/" + s[:2] + "/" + s
	rc, err := be.Get(ctx, obj, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(rc)
	rc.Close()
	data[int(locs[0].Offset)+int(locs[0].Length)/2] ^= 0x55
	if err := be.Put(ctx, obj, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
}
