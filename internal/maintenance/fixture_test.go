package maintenance

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"bbvault/internal/archiver"
	"bbvault/internal/backend"
	"bbvault/internal/blob"
	"bbvault/internal/crypto"
	"bbvault/internal/homewalk"
	"bbvault/internal/index"
	"bbvault/internal/repo"
	"bbvault/internal/repolock"
	"bbvault/internal/restorer"
	"bbvault/internal/tree"
	"bbvault/test/clitest"
	"bbvault/test/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var testKDF = crypto.KDFParams{N: 1024, R: 8, P: 1}

const testPassword = "correct horse"

// fixture is a repository and a home directory that changes between
// snapshots, with the content each snapshot should restore.
type fixture struct {
	t     testing.TB
	be    backend.Backend
	r     *repo.Repository
	home  string
	rng   *rand.Rand
	clock time.Time
	want  map[string]map[string]string // snapshot ID → path → content digest
	db    map[string]string            // snapshot ID → digest of its stream
}

func newFixture(t testing.TB, be backend.Backend, seed uint64) *fixture {
	t.Helper()
	ctx := context.Background()
	if _, err := repo.Init(ctx, be, []byte(testPassword), repo.InitOptions{KDF: testKDF, PackSize: repo.MinPackSize}); err != nil {
		t.Fatal(err)
	}
	f := newHome(t, seed)
	f.be, f.r = be, openRepo(t, be, t.TempDir())
	return f
}

// newHome returns a fixture with a populated home and no repository.
func newHome(t testing.TB, seed uint64) *fixture {
	f := &fixture{t: t, home: t.TempDir(), rng: rand.New(rand.NewPCG(seed, 7)),
		clock: time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC),
		want:  map[string]map[string]string{}, db: map[string]string{}}
	f.populate(60, 64<<10)
	return f
}

func openRepo(t testing.TB, be backend.Backend, cache string) *repo.Repository {
	t.Helper()
	r, err := repo.Open(context.Background(), be, []byte(testPassword), repo.OpenOptions{CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// randomData is random bytes with runs of repeats, so zstd has something to do.
func (f *fixture) randomData(n int) []byte {
	b := make([]byte, n)
	for i := 0; i < n; {
		run := min(n-i, 1+f.rng.IntN(4096))
		if f.rng.IntN(3) == 0 {
			v := byte(f.rng.IntN(256))
			for k := range run {
				b[i+k] = v
			}
		} else {
			for k := range run {
				b[i+k] = byte(f.rng.Uint32())
			}
		}
		i += run
	}
	return b
}

func (f *fixture) writeFile(rel string, data []byte) {
	p := filepath.Join(f.home, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// populate writes n files of up to maxSize bytes in a few directories.
func (f *fixture) populate(n, maxSize int) {
	for i := range n {
		rel := fmt.Sprintf("shared/data/repositories/%d/objects/f%03d", i%7, i)
		f.writeFile(rel, f.randomData(f.rng.IntN(maxSize)))
	}
	f.writeFile("shared/big.pack", f.randomData(3<<20))
}

// mutate rewrites, adds and removes a few files.
func (f *fixture) mutate() {
	files := f.files()
	for _, rel := range files {
		switch f.rng.IntN(10) {
		case 0:
			if err := os.Remove(filepath.Join(f.home, rel)); err != nil {
				f.t.Fatal(err)
			}
		case 1, 2:
			f.writeFile(rel, f.randomData(f.rng.IntN(256<<10)))
		}
	}
	for range 3 {
		f.writeFile(fmt.Sprintf("shared/data/repositories/%d/new-%d", f.rng.IntN(9), f.rng.Uint32()), f.randomData(f.rng.IntN(512<<10)))
	}
}

func (f *fixture) files() []string {
	var out []string
	for rel := range clitest.Digests(f.t, f.home) {
		out = append(out, rel)
	}
	sort.Strings(out)
	return out
}

// snapshot stores the home (and, with db, a stream) as a snapshot taken
// one day after the previous one.
func (f *fixture) snapshot(db bool) *repo.Manifest {
	f.t.Helper()
	ctx := context.Background()
	f.clock = f.clock.Add(24 * time.Hour)
	m, err := takeSnapshot(ctx, f.r, f.home, f.clock, f.streamData(db))
	if err != nil {
		f.t.Fatal(err)
	}
	f.want[m.ID] = clitest.Digests(f.t, f.home)
	if db {
		f.db[m.ID] = digest(f.streamData(true))
	}
	return m
}

// streamData is a stand-in database dump that changes a little each day.
func (f *fixture) streamData(db bool) []byte {
	if !db {
		return nil
	}
	r := rand.New(rand.NewPCG(99, uint64(f.clock.Unix()/86400%3)))
	b := make([]byte, 2<<20)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// takeSnapshot archives home through a writer and saves the manifest.
func takeSnapshot(ctx context.Context, r *repo.Repository, home string, at time.Time, stream []byte) (*repo.Manifest, error) {
	walker, err := homewalk.NewWalker(home, homewalk.Options{})
	if err != nil {
		return nil, err
	}
	w := r.NewWriter(ctx, repo.WriterOptions{})
	root, _, err := archiver.Archive(ctx, r, w, archiver.Options{Walker: walker})
	var streams []repo.Stream
	if err == nil && stream != nil {
		var res repo.StreamResult
		res, err = w.SaveStream(ctx, bytes.NewReader(stream))
		streams = []repo.Stream{{Name: "database", Size: res.Size, Blobs: res.Blobs}}
	}
	if err != nil {
		w.Abort(err)
		return nil, err
	}
	if err := w.Finish(ctx); err != nil {
		return nil, err
	}
	m := &repo.Manifest{Time: at, Host: "test-host", Home: walker.Root(), Tree: &root, Streams: streams, Version: "test"}
	if _, err := r.SaveSnapshot(ctx, m); err != nil {
		return nil, err
	}
	return m, nil
}

// verifyRestore restores every snapshot the fixture recorded that is still
// in the repository and compares it with the home it was taken of.
func (f *fixture) verifyRestore(r *repo.Repository) int {
	f.t.Helper()
	ctx := context.Background()
	all, err := r.Snapshots(ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	n := 0
	for _, m := range all {
		want, ok := f.want[m.ID]
		if !ok {
			continue
		}
		restoreAndCompare(f.t, r, m, want)
		if d, ok := f.db[m.ID]; ok {
			compareStream(f.t, r, m, d)
		}
		n++
	}
	return n
}

func restoreAndCompare(t testing.TB, r *repo.Repository, m *repo.Manifest, want map[string]string) {
	t.Helper()
	target := filepath.Join(t.TempDir(), "restore")
	if err := restorer.PrepareTarget(target); err != nil {
		t.Fatal(err)
	}
	if _, err := restorer.Restore(context.Background(), r, *m.Tree, restorer.Options{Target: target}); err != nil {
		t.Fatalf("restore snapshot %s: %v", m.ShortID(), err)
	}
	got := clitest.Digests(t, target)
	if len(got) != len(want) {
		t.Fatalf("snapshot %s restored %d files, want %d", m.ShortID(), len(got), len(want))
	}
	for rel, d := range want {
		if got[rel] != d {
			t.Fatalf("snapshot %s: %s restored with digest %q, want %q", m.ShortID(), rel, got[rel], d)
		}
	}
}

func compareStream(t testing.TB, r *repo.Repository, m *repo.Manifest, want string) {
	t.Helper()
	sr := r.NewStreamReader(context.Background(), m.Streams[0].Blobs)
	defer sr.Close()
	b, err := io.ReadAll(sr)
	if err != nil {
		t.Fatalf("snapshot %s: read stream: %v", m.ShortID(), err)
	}
	if digest(b) != want {
		t.Fatalf("snapshot %s: stream differs from what was saved", m.ShortID())
	}
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// mustCheck runs a full check and fails the test on any problem.
func mustCheck(t testing.TB, r *repo.Repository, readData bool) *CheckResult {
	t.Helper()
	res, err := Check(context.Background(), r, CheckOptions{ReadData: readData})
	if err != nil {
		t.Fatalf("check: %v", err)
	}
	for _, p := range res.Problems {
		t.Errorf("check: %s: %s", p.Kind, p.Message)
	}
	if !res.OK() {
		t.FailNow()
	}
	return res
}

func readObject(t testing.TB, be backend.Backend, name string) []byte {
	t.Helper()
	rc, err := be.Get(context.Background(), name, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// fileOf finds the node of a file in a snapshot.
func fileOf(t testing.TB, r *repo.Repository, m *repo.Manifest, rel string) (tree.Node, blob.ID) {
	t.Helper()
	id := *m.Tree
	parts := strings.Split(rel, "/")
	for i, name := range parts {
		tr, err := r.LoadTree(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		n, ok := tr.Lookup(name)
		if !ok {
			t.Fatalf("snapshot %s has no %s", m.ShortID(), rel)
		}
		if i == len(parts)-1 {
			return n, id
		}
		id = n.Subtree
	}
	panic("unreachable")
}

// lockRepo takes a repository lock as the CLI does: acquire, then sync the
// index cache (a prune may have run since the repository was opened).
func lockRepo(t testing.TB, r *repo.Repository, exclusive bool) *repolock.Lock {
	t.Helper()
	l, err := repolock.Acquire(context.Background(), r, repolock.Options{Exclusive: exclusive})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.SyncIndex(l.Context()); err != nil {
		l.Unlock()
		t.Fatal(err)
	}
	return l
}

// locationOf returns where the index says a blob is.
func locationOf(t testing.TB, r *repo.Repository, id blob.ID) index.Location {
	t.Helper()
	locs, err := r.Locate(context.Background(), id)
	if err != nil || len(locs) == 0 {
		t.Fatalf("blob %s: %v (%d locations)", id.Short(), err, len(locs))
	}
	return locs[0]
}

func packObject(id blob.ID) string { return "data/" + id.String()[:2] + "/" + id.String() }

// damageBlob flips a byte inside the stored blob id, in its pack, and
// returns where the blob is.
func damageBlob(t testing.TB, f *fixture, id blob.ID) index.Location {
	t.Helper()
	loc := locationOf(t, f.r, id)
	flipByte(t, f.be, packObject(loc.Pack), int64(loc.Offset)+30)
	return loc
}

// flipByte inverts one byte of an object in place.
func flipByte(t testing.TB, be backend.Backend, name string, off int64) {
	t.Helper()
	b := readObject(t, be, name)
	b[off] ^= 0xff
	if err := be.Put(context.Background(), name, bytes.NewReader(b), int64(len(b))); err != nil {
		t.Fatal(err)
	}
}
