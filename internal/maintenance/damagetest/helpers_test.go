package damagetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"bbvault/internal/backend"
	"bbvault/internal/blob"
	"bbvault/internal/crypto"
	"bbvault/internal/index"
	"bbvault/internal/repo"
	"bbvault/internal/tree"
	"bbvault/test/clitest"
	"bbvault/test/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var testKDF = crypto.KDFParams{N: 1024, R: 8, P: 1}

const testPassword = "correct horse"

// newCLIAt runs bin against the repository at location.
func newCLIAt(t testing.TB, bin, location string, extra ...string) *clitest.CLI {
	return clitest.New(t, bin, location, testPassword, extra...)
}

// initRepo creates a repository with a cheap key derivation: every command
// derives the key, and the default costs most of a second.
func initRepo(t testing.TB, be backend.Backend) {
	t.Helper()
	if _, err := repo.Init(context.Background(), be, []byte(testPassword), repo.InitOptions{KDF: testKDF, PackSize: repo.MinPackSize}); err != nil {
		t.Fatal(err)
	}
}

// newHome writes a home of small files in a few repositories and one file
// of several chunks, shared/big.pack.
func newHome(t testing.TB, seed uint64) string {
	t.Helper()
	home := t.TempDir()
	rng := rand.New(rand.NewPCG(seed, 7))
	for i := range 60 {
		writeFile(t, home, fmt.Sprintf("shared/data/repositories/%d/objects/f%03d", i%7, i), randomData(rng, rng.IntN(64<<10)))
	}
	writeFile(t, home, "shared/big.pack", randomData(rng, 3<<20))
	return home
}

// randomData is random bytes with runs of repeats, so zstd has something to do.
func randomData(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := 0; i < n; {
		run := min(n-i, 1+rng.IntN(4096))
		v := byte(rng.IntN(256))
		for k := range run {
			if rng.IntN(3) > 0 {
				v = byte(rng.Uint32())
			}
			b[i+k] = v
		}
		i += run
	}
	return b
}

func writeFile(t testing.TB, root, rel string, data []byte) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func openRepo(t testing.TB, be backend.Backend) *repo.Repository {
	t.Helper()
	r, err := repo.Open(context.Background(), be, []byte(testPassword), repo.OpenOptions{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// fileOf finds the node of a path in a snapshot.
func fileOf(t testing.TB, r *repo.Repository, m *repo.Manifest, rel string) tree.Node {
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
			return n
		}
		id = n.Subtree
	}
	panic("unreachable")
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

func putObject(t testing.TB, be backend.Backend, name string, b []byte) {
	t.Helper()
	if err := be.Put(context.Background(), name, bytes.NewReader(b), int64(len(b))); err != nil {
		t.Fatal(err)
	}
}

// flipByte inverts one byte of an object.
func flipByte(t testing.TB, be backend.Backend, name string, off int64) {
	t.Helper()
	b := readObject(t, be, name)
	b[off] ^= 0xff
	putObject(t, be, name, b)
}

// objectNames lists the backend's objects under prefix, sorted.
func objectNames(t testing.TB, be backend.Backend, prefix string) []string {
	t.Helper()
	var names []string
	err := be.List(context.Background(), prefix, func(oi backend.ObjectInfo) error {
		names = append(names, oi.Name)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	return names
}

func decodeJSON(t testing.TB, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("decode %q: %v", s, err)
	}
}
