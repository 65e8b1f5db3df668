package restorer

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"bbvault/internal/archiver"
	"bbvault/internal/backend"
	"bbvault/internal/backend/mem"
	"bbvault/internal/blob"
	"bbvault/internal/crypto"
	"bbvault/internal/homewalk"
	"bbvault/internal/repo"
)

func snapshotDir(t *testing.T, src string) (*repo.Repository, *mem.Backend, blob.ID) {
	t.Helper()
	ctx := context.Background()
	be := mem.New()
	if _, err := repo.Init(ctx, be, []byte("pw"), repo.InitOptions{PackSize: repo.MinPackSize, KDF: crypto.KDFParams{N: 1024, R: 8, P: 1}}); err != nil {
		t.Fatal(err)
	}
	r, err := repo.Open(ctx, be, []byte("pw"), repo.OpenOptions{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	walker, err := homewalk.NewWalker(src, homewalk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w := r.NewWriter(ctx, repo.WriterOptions{})
	root, _, err := archiver.Archive(ctx, r, w, archiver.Options{Walker: walker})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	return r, be, root
}

func writeFiles(t *testing.T, dir string, sizes map[string]int) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for name, n := range sizes {
		b := make([]byte, n)
		rand.Read(b)
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, b, 0o640); err != nil {
			t.Fatal(err)
		}
		out[name] = b
	}
	return out
}

func TestRestoreRefusesNonEmptyTarget(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "lost+found"), 0o700)
	if err := PrepareTarget(dir); err != nil {
		t.Fatalf("lost+found alone: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "keep-me"), []byte("x"), 0o600)
	if err := PrepareTarget(dir); !errors.Is(err, ErrTargetNotEmpty) || !strings.Contains(err.Error(), "keep-me") {
		t.Fatalf("err = %v, want ErrTargetNotEmpty naming the entry", err)
	}
}

// TestDamagedPackFailsOnlyItsFiles: a flipped byte in one data pack fails
// the files with blobs in it, names them, and restores everything else.
func TestDamagedPackFailsOnlyItsFiles(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	files := writeFiles(t, src, map[string]int{"a/big1": 5 << 20, "b/big2": 5 << 20, "c/small": 1000})
	r, be, root := snapshotDir(t, src)
	var packs []string
	be.List(ctx, "data/", func(oi backend.ObjectInfo) error { packs = append(packs, oi.Name); return nil })
	damaged, largest := "", 0
	var data []byte
	for _, name := range packs {
		rc, _ := be.Get(ctx, name, 0, 0)
		var buf bytes.Buffer
		buf.ReadFrom(rc)
		rc.Close()
		if buf.Len() > largest {
			damaged, largest, data = name, buf.Len(), buf.Bytes()
		}
	}
	if largest > 1<<20 {
		data[1000] ^= 0x55
		be.Put(ctx, damaged, bytes.NewReader(data), int64(len(data)))
	} else {
		damaged = ""
	}
	if damaged == "" {
		t.Fatal("no data pack large enough to damage")
	}
	target := filepath.Join(t.TempDir(), "restore")
	PrepareTarget(target)
	st, err := Restore(ctx, r, root, Options{Target: target})
	if !errors.Is(err, ErrDamaged) || len(st.Failed) == 0 {
		t.Fatalf("err = %v, failed = %v: want a damage report", err, st.Failed)
	}
	failed := map[string]bool{}
	for _, f := range st.Failed {
		failed[f.Path] = true
		if !errors.Is(f.Err, repo.ErrCorruptBlob) {
			t.Errorf("%s: %v, want ErrCorruptBlob", f.Path, f.Err)
		}
	}
	for name, want := range files {
		if failed[name] {
			continue
		}
		got, err := os.ReadFile(filepath.Join(target, name))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s was not restored intact (%v)", name, err)
		}
	}
	if len(failed) == len(files) {
		t.Fatal("every file failed: the damage was not contained")
	}
}

func TestIncludeRestoresOnlyTheSubtree(t *testing.T) {
	src := t.TempDir()
	writeFiles(t, src, map[string]int{"shared/data/repositories/1/HEAD": 30, "shared/data/repositories/2/HEAD": 30, "shared/x": 10})
	r, _, root := snapshotDir(t, src)
	target := filepath.Join(t.TempDir(), "restore")
	PrepareTarget(target)
	if _, err := Restore(context.Background(), r, root, Options{Target: target, Include: []string{"shared/data/repositories/2"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(target, "shared/data/repositories/2/HEAD")); err != nil {
		t.Fatal("the included repository is missing")
	}
	for _, p := range []string{"shared/data/repositories/1", "shared/x"} {
		if _, err := os.Stat(filepath.Join(target, p)); err == nil {
			t.Fatalf("%s was restored although not included", p)
		}
	}
}
