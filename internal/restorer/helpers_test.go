package restorer

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"bbvault/internal/archiver"
	"bbvault/internal/backend"
	"bbvault/internal/backend/mem"
	"bbvault/internal/blob"
	"bbvault/internal/crypto"
	"bbvault/internal/homewalk"
	"bbvault/internal/index"
	"bbvault/internal/repo"
	"bbvault/test/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var testPassword = []byte("pw")

// newRepo creates a repository with small packs in be.
func newRepo(t testing.TB, be backend.Backend) {
	t.Helper()
	opts := repo.InitOptions{PackSize: repo.MinPackSize, KDF: crypto.KDFParams{N: 1024, R: 8, P: 1}}
	if _, err := repo.Init(context.Background(), be, testPassword, opts); err != nil {
		t.Fatal(err)
	}
}

// openRepo opens the repository in be with a fresh cache, as a new host
// would: nothing read before is remembered.
func openRepo(t testing.TB, be backend.Backend) *repo.Repository {
	t.Helper()
	r, err := repo.Open(context.Background(), be, testPassword, repo.OpenOptions{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// backup stores the directory src and returns its root tree.
func backup(t testing.TB, r *repo.Repository, src string) blob.ID {
	t.Helper()
	ctx := context.Background()
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
	return root
}

// snapshotDir stores src in a new in-memory repository.
func snapshotDir(t *testing.T, src string) (*repo.Repository, *mem.Backend, blob.ID) {
	t.Helper()
	be := mem.New()
	newRepo(t, be)
	r := openRepo(t, be)
	return r, be, backup(t, r, src)
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

// restoreTo restores root into a new target directory.
func restoreTo(t *testing.T, r *repo.Repository, root blob.ID, opts Options) (string, Stats, error) {
	t.Helper()
	target := filepath.Join(t.TempDir(), "restore")
	if err := PrepareTarget(target); err != nil {
		t.Fatal(err)
	}
	opts.Target = target
	st, err := Restore(context.Background(), r, root, opts)
	return target, st, err
}

// entry is what a user sees of one path.
type entry struct {
	kind   uint32
	mode   uint32
	size   int64
	blocks int64
	sum    [32]byte
	link   string
}

// readTree describes every path under root (not root itself), walking with
// directory descriptors so that trees deeper than PATH_MAX work.
func readTree(t *testing.T, root string) map[string]entry {
	t.Helper()
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]entry{}
	readDirAt(t, fd, "", out)
	return out
}

func readDirAt(t *testing.T, fd int, rel string, out map[string]entry) {
	t.Helper()
	d := os.NewFile(uintptr(fd), rel)
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		var st unix.Stat_t
		if err := unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(rel, name)
		e := entry{kind: st.Mode & unix.S_IFMT, mode: st.Mode & 0o7777, size: st.Size, blocks: st.Blocks}
		switch e.kind {
		case unix.S_IFDIR:
			sub, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			readDirAt(t, sub, p, out)
		case unix.S_IFREG:
			e.sum = sumAt(t, fd, name)
		case unix.S_IFLNK:
			buf := make([]byte, 4096)
			n, _ := unix.Readlinkat(fd, name, buf)
			e.link = string(buf[:n])
		}
		out[p] = e
	}
}

func sumAt(t *testing.T, dirfd int, name string) [32]byte {
	t.Helper()
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return [32]byte(h.Sum(nil))
}

// checkRestored asserts that every path of src not in failed was restored
// exactly (kind, mode, content, link target), that no failed file exists
// under its real name, and that no partial file is left at all.
func checkRestored(t *testing.T, src, target string, failed map[string]bool) {
	t.Helper()
	want, got := readTree(t, src), readTree(t, target)
	for p, g := range got {
		if strings.HasPrefix(filepath.Base(p), tempPrefix) {
			t.Errorf("partial file left: %s", p)
		}
		if failed[p] {
			t.Errorf("%s failed but exists under its real name (size %d)", p, g.size)
		}
	}
	for p, w := range want {
		g, ok := got[p]
		switch {
		case failed[p] || underFailedDir(p, failed):
		case !ok:
			t.Errorf("%s was not restored", p)
		case g.kind != w.kind || g.mode != w.mode || g.sum != w.sum || g.link != w.link || (w.kind == unix.S_IFREG && g.size != w.size):
			t.Errorf("%s differs: got %+v, want %+v", p, g, w)
		}
	}
}

func underFailedDir(p string, failed map[string]bool) bool {
	for d := filepath.Dir(p); d != "." && d != "/"; d = filepath.Dir(d) {
		if failed[d+"/"] {
			return true
		}
	}
	return failed["./"]
}

// failedSet is the set of failed paths; directories end in "/".
func failedSet(st Stats) map[string]bool {
	out := map[string]bool{}
	for _, f := range st.Failed {
		if f.Dir {
			out[f.Path+"/"] = true
		} else {
			out[f.Path] = true
		}
	}
	return out
}

// packs lists the packs of one blob type in be, largest first.
func packsOf(t *testing.T, r *repo.Repository, be *mem.Backend, typ blob.Type) []string {
	t.Helper()
	ctx := context.Background()
	seen := map[string]int64{}
	err := be.List(ctx, "data/", func(oi backend.ObjectInfo) error {
		seen[oi.Name] = oi.Size
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for name := range seen {
		id, err := blob.ParseID(filepath.Base(name))
		if err != nil {
			t.Fatal(err)
		}
		if packType(t, r, id) == typ {
			out = append(out, name)
		}
	}
	sortBySize(out, seen)
	return out
}

func sortBySize(names []string, size map[string]int64) {
	for i := range names {
		for j := i + 1; j < len(names); j++ {
			if size[names[j]] > size[names[i]] {
				names[i], names[j] = names[j], names[i]
			}
		}
	}
}

func packType(t *testing.T, r *repo.Repository, pack blob.ID) blob.Type {
	t.Helper()
	var typ blob.Type
	err := r.Packs().Indexed(context.Background(), func(p index.Pack) error {
		if p.ID == pack {
			typ = p.Type
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return typ
}

// damage changes the object name in be: "flip" a byte at off, "truncate"
// it to off bytes, or "delete" it.
func damage(t *testing.T, be *mem.Backend, name, how string, off int64) {
	t.Helper()
	ctx := context.Background()
	rc, err := be.Get(ctx, name, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(rc)
	rc.Close()
	switch how {
	case "flip":
		data[off] ^= 0x55
	case "truncate":
		data = data[:off]
	case "delete":
		if err := be.Delete(ctx, name); err != nil {
			t.Fatal(err)
		}
		return
	default:
		panic(fmt.Sprintf("damage %q", how))
	}
	if err := be.Put(ctx, name, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
}
