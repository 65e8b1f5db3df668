package archiver

import (
	"context"
	"crypto/rand"
	"fmt"
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
