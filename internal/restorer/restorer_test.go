package restorer

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"bbvault/internal/backend/mem"
	"bbvault/internal/blob"
	"bbvault/internal/repo"
	"bbvault/internal/tree"
	"bbvault/internal/treewalk"
)

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

// TestLostFoundInTargetAndSnapshot: a home on a file system of its own has
// lost+found at its root; restoring it onto another such file system meets
// the target's own lost+found, which is accepted.
func TestLostFoundInTargetAndSnapshot(t *testing.T) {
	src := t.TempDir()
	writeFiles(t, src, map[string]int{"shared/x": 100, "lost+found/#1234": 10})
	r, _, root := snapshotDir(t, src)
	target := filepath.Join(t.TempDir(), "restore")
	if err := os.MkdirAll(filepath.Join(target, "lost+found"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := PrepareTarget(target); err != nil {
		t.Fatal(err)
	}
	if _, err := Restore(context.Background(), r, root, Options{Target: target}); err != nil {
		t.Fatalf("restore into a target holding lost+found: %v", err)
	}
	checkRestored(t, src, target, nil)
}

// damageSource is a home of a few directories: big files over several
// packs, small files, a file in a deep directory, hard links, a symlink and
// an empty file.
func damageSource(t *testing.T) string {
	src := t.TempDir()
	writeFiles(t, src, map[string]int{"a/big1": 5 << 20, "b/big2": 5 << 20, "c/small1": 1000, "c/small2": 20000,
		"c/sub/deep": 3000, "d/mid": 700 << 10, "e/f": 12345})
	for _, err := range []error{
		os.Link(filepath.Join(src, "a/big1"), filepath.Join(src, "e/big1-link")),
		os.Symlink("../a/big1", filepath.Join(src, "e/sym")),
		os.WriteFile(filepath.Join(src, "e/empty"), nil, 0o600),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return src
}

// TestDamageCostsOnlyWhatNeedsIt: for each kind of damage to a data or a
// tree pack, restore lists exactly the files (and directories) that need
// the damaged bytes, restores every other one byte for byte, and leaves
// nothing partial.
func TestDamageCostsOnlyWhatNeedsIt(t *testing.T) {
	src := damageSource(t)
	for _, typ := range []blob.Type{blob.Data, blob.Tree} {
		for _, how := range []string{"flip", "truncate", "delete"} {
			t.Run(typ.String()+"/"+how, func(t *testing.T) {
				be := mem.New()
				newRepo(t, be)
				root := backup(t, openRepo(t, be), src)
				r := openRepo(t, be)
				name, lo, hi := pickDamage(t, r, be, root, typ, how)
				want := lostBy(t, r, root, name, lo, hi)
				damage(t, be, name, how, lo)
				target, st, err := restoreTo(t, openRepo(t, be), root, Options{})
				got := failedSet(st)
				if !errors.Is(err, ErrDamaged) {
					t.Fatalf("err = %v, want ErrDamaged", err)
				}
				if !maps.Equal(got, want) {
					t.Errorf("failed %v, want exactly %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
				}
				checkRestored(t, src, target, got)
				t.Logf("%s %s: lost %v; restored %d files", typ, how, slices.Sorted(maps.Keys(got)), st.Files+st.Hardlinks)
			})
		}
	}
}

// pickDamage chooses the pack and the byte range to damage: for data the
// largest data pack, for trees the listing of directory c (a flip) or the
// tree pack (cut or deleted).
func pickDamage(t *testing.T, r *repo.Repository, be *mem.Backend, root blob.ID, typ blob.Type, how string) (string, int64, int64) {
	t.Helper()
	packs := packsOf(t, r, be, typ)
	if len(packs) == 0 {
		t.Fatalf("no %s pack", typ)
	}
	size := objectSize(t, be, packs[0])
	switch {
	case how == "delete":
		return packs[0], 0, size
	case how == "truncate":
		return packs[0], size / 2, size
	case typ == blob.Data:
		return packs[0], size / 3, size/3 + 1
	}
	c, err := treewalk.Find(context.Background(), r, root, "c")
	if err != nil {
		t.Fatal(err)
	}
	locs, err := r.Locate(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	off := int64(locs[0].Offset) + int64(locs[0].Length)/2
	return "data/" + locs[0].Pack.String()[:2] + "/" + locs[0].Pack.String(), off, off + 1
}

// lostBy lists what a restore cannot bring back once bytes [lo, hi) of the
// pack called name are gone: each file with a blob there, each directory
// whose listing is there ("dir/"; its contents are not listed).
func lostBy(t *testing.T, r *repo.Repository, root blob.ID, name string, lo, hi int64) map[string]bool {
	t.Helper()
	ctx := context.Background()
	hit := func(id blob.ID) bool {
		locs, err := r.Locate(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		l := locs[0]
		return strings.HasSuffix(name, l.Pack.String()) && int64(l.Offset) < hi && int64(l.Offset)+int64(l.Length) > lo
	}
	lost := map[string]bool{}
	if hit(root) {
		return map[string]bool{"./": true}
	}
	err := treewalk.Walk(ctx, r, root, "", treewalk.Stop, func(p string, n *tree.Node) error {
		switch {
		case n.Kind == tree.Dir && hit(n.Subtree):
			lost[p+"/"] = true
			return treewalk.SkipDir
		case n.Kind == tree.File:
			for _, id := range n.Content {
				if hit(id) {
					lost[p] = true
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return lost
}

func objectSize(t *testing.T, be *mem.Backend, name string) int64 {
	t.Helper()
	oi, err := be.Stat(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return oi.Size
}

func TestIncludeRestoresOnlyTheSubtree(t *testing.T) {
	src := t.TempDir()
	writeFiles(t, src, map[string]int{"shared/data/repositories/1/HEAD": 30, "shared/data/repositories/2/HEAD": 30, "shared/x": 10})
	r, _, root := snapshotDir(t, src)
	target, _, err := restoreTo(t, r, root, Options{Include: []string{"shared/data/repositories/2"}})
	if err != nil {
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

// TestSparseFileStaysSparse: a 64 MiB file holding 4 KiB of data takes
// about 4 KiB once restored, not 64 MiB, and reads back the same.
func TestSparseFileStaysSparse(t *testing.T) {
	src := t.TempDir()
	p := filepath.Join(src, "sparse")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 4096)
	rand.Read(data)
	if _, err := f.WriteAt(data, 20<<20); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(64 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	r, _, root := snapshotDir(t, src)
	target, _, err := restoreTo(t, r, root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkRestored(t, src, target, nil)
	got := readTree(t, target)["sparse"]
	if got.size != 64<<20 || got.blocks*512 > 1<<20 {
		t.Errorf("restored sparse file: %d bytes taking %d bytes of disk, want %d bytes taking at most 1 MiB", got.size, got.blocks*512, 64<<20)
	}
}

// TestDeeperThanPathMax: a tree whose paths run past PATH_MAX (4096 bytes)
// is backed up and restored whole.
func TestDeeperThanPathMax(t *testing.T) {
	src := t.TempDir()
	name := strings.Repeat("d", 200)
	fd, err := unix.Open(src, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	for depth := range 30 { // 30 × 201 bytes: about 6,000 bytes of path
		if err := unix.Mkdirat(fd, name, 0o755); err != nil {
			t.Fatal(err)
		}
		if depth%10 == 9 {
			writeAt(t, fd, "file", 5000+depth)
		}
		next, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY, 0)
		unix.Close(fd)
		if err != nil {
			t.Fatal(err)
		}
		fd = next
	}
	writeAt(t, fd, "bottom", 100000)
	if err := unix.Symlinkat("bottom", fd, "link"); err != nil {
		t.Fatal(err)
	}
	unix.Close(fd)
	r, _, root := snapshotDir(t, src)
	target, st, err := restoreTo(t, r, root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Files != 4 || st.Dirs != 30 {
		t.Errorf("restored %d files and %d directories, want 4 and 30", st.Files, st.Dirs)
	}
	checkRestored(t, src, target, nil)
}

// writeAt writes n random bytes to a new file name in the directory dirfd.
func writeAt(t *testing.T, dirfd int, name string, n int) {
	t.Helper()
	fd, err := unix.Openat(dirfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, n)
	rand.Read(b)
	_, err = unix.Write(fd, b)
	unix.Close(fd)
	if err != nil {
		t.Fatal(err)
	}
}

// Blobs stored compressed come back whole whatever their size (decompressed
// into a decoder's scratch, or a pooled buffer when large), beside blobs
// stored raw and decrypted in place; small memory budgets included.
func TestCompressedAndRawBlobsOfEverySize(t *testing.T) {
	src := t.TempDir()
	writeFiles(t, src, map[string]int{"objects/pack/pack-1.pack": 6 << 20, "objects/ab/cdef": 700})
	text := func(n int) []byte {
		var b bytes.Buffer
		for i := 0; b.Len() < n; i++ {
			fmt.Fprintf(&b, "refs/pull-requests/%d/from %040x\n", i, i*7919)
		}
		return b.Bytes()[:n]
	}
	for name, n := range map[string]int{"shared/audit.log": 5 << 20, "shared/bitbucket.properties": 600, "config": 300 << 10, "dump.sql": keepScratch + 1} {
		if err := os.MkdirAll(filepath.Join(src, filepath.Dir(name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, name), text(n), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	r, _, root := snapshotDir(t, src)
	for _, memory := range []int64{0, 1 << 20} {
		target, st, err := restoreTo(t, r, root, Options{Memory: memory})
		if err != nil {
			t.Fatalf("memory %d: %v (failed: %v)", memory, err, st.Failed)
		}
		checkRestored(t, src, target, nil)
	}
}
