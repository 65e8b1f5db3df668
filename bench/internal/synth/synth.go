package synth

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"bbvault/internal/backend/local"
	"bbvault/internal/blob"
	"bbvault/internal/crypto"
	"bbvault/internal/index"
	"bbvault/internal/repo"
)

// Options shape a synthetic repository.
type Options struct {
	Dir      string // the repository directory (created)
	CacheDir string // the index cache directory, as bbvault's --cache-dir
	Password []byte
	Blobs    int    // data blobs the index lists
	PerPack  int    // blobs per pack; default 1000
	PerIndex int    // packs per index object; default 20
	Seed     uint64 // blob and pack IDs derive from it
	Logger   *slog.Logger
}

func (o *Options) defaults() {
	if o.PerPack <= 0 {
		o.PerPack = 1000
	}
	if o.PerIndex <= 0 {
		o.PerIndex = 20
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Summary is what Build made.
type Summary struct {
	Blobs      int           `json:"blobs"`
	Packs      int           `json:"packs"`
	Indexes    int           `json:"index_objects"`
	UsedBlobs  int           `json:"used_blobs"`
	TreeBlobs  int           `json:"tree_blobs"`
	CacheBytes int64         `json:"cache_bytes"`
	Took       time.Duration `json:"took_ns"`
	IndexTook  time.Duration `json:"index_took_ns"`
	TreesTook  time.Duration `json:"trees_took_ns"`
}

// blobLength is the stored size every synthetic blob claims (a pack of
// 1,000 blobs is then 16 MB, as real packs of small files are).
const blobLength = 16 << 10

// Build creates the repository: config and key (the real thing), the
// index rows and placeholder index objects, sparse pack files, and one
// snapshot (host "synthetic") whose trees use most of the blobs.
func Build(ctx context.Context, o Options) (Summary, error) {
	o.defaults()
	start := time.Now()
	be, err := local.Create(o.Dir)
	if err != nil {
		return Summary{}, err
	}
	cfg, err := repo.Init(ctx, be, o.Password, repo.InitOptions{KDF: crypto.DefaultKDF})
	if err != nil {
		return Summary{}, err
	}
	s := Summary{Blobs: o.Blobs}
	if err := writeIndex(ctx, o, cfg.ID, &s); err != nil {
		return s, err
	}
	if err := insertBlobs(ctx, o, cachePath(o.CacheDir, cfg.ID)); err != nil {
		return s, fmt.Errorf("blob rows: %w", err)
	}
	s.IndexTook = time.Since(start)
	if err := writeSnapshot(ctx, o, &s); err != nil {
		return s, err
	}
	s.TreesTook = time.Since(start) - s.IndexTook
	s.Took = time.Since(start)
	if st, err := os.Stat(cachePath(o.CacheDir, cfg.ID)); err == nil {
		s.CacheBytes = st.Size()
	}
	return s, nil
}

func cachePath(cacheDir, repoID string) string {
	return filepath.Join(cacheDir, repoID, "index.sqlite")
}

// The blobs are numbered 0..Blobs-1 in ID order: blob k's ID starts with
// a number in the k-th of Blobs equal slices of the 64-bit range (the rest
// is random), so the IDs are uniformly spread, and ascending, which lets
// their rows go into the cache in its own order (rows inserted at random
// places made 8 million take 23 minutes). Pack p holds the blobs k with
// k mod packs == p, so every pack's blobs are spread over the whole ID
// space, as real packs' are.

// blobID is blob k's ID.
func (o Options) blobID(k int) blob.ID {
	r := rand.New(rand.NewPCG(o.Seed, uint64(k)))
	var id blob.ID
	width := ^uint64(0) / uint64(o.Blobs)
	binary.BigEndian.PutUint64(id[0:], uint64(k)*width+r.Uint64()%width)
	for i := 8; i < blob.IDSize; i += 8 {
		binary.LittleEndian.PutUint64(id[i:], r.Uint64())
	}
	return id
}

// packID is pack p's ID.
func (o Options) packID(p int) blob.ID {
	r := rand.New(rand.NewPCG(^o.Seed, uint64(p)))
	var id blob.ID
	for i := 0; i < blob.IDSize; i += 8 {
		binary.LittleEndian.PutUint64(id[i:], r.Uint64())
	}
	return id
}

// packCount is how many packs hold o.Blobs blobs.
func (o Options) packCount() int { return (o.Blobs + o.PerPack - 1) / o.PerPack }

// blobsIn is how many blobs pack p holds.
func (o Options) blobsIn(p int) int {
	n := o.packCount()
	return (o.Blobs - p + n - 1) / n
}

// packBlobs returns the IDs of pack p's blobs, in the order they sit in it.
func (o Options) packBlobs(p int) []blob.ID {
	ids := make([]blob.ID, 0, o.blobsIn(p))
	for k := p; k < o.Blobs; k += o.packCount() {
		ids = append(ids, o.blobID(k))
	}
	return ids
}

// packSize is the size of a pack of n synthetic blobs, header included.
func packSize(n int) int64 { return int64(n)*blobLength + int64(n)*41 + 32 }

// writeIndex records the index objects and their packs in the cache (the
// blob rows follow, in ID order: see insertBlobs), and writes the
// placeholder objects and sparse packs a listing of the repository shows:
// the cache and the repository agree, so bbvault's Sync finds nothing to
// load or drop.
func writeIndex(ctx context.Context, o Options, repoID string, s *Summary) error {
	if err := os.MkdirAll(filepath.Join(o.Dir, "index"), 0o700); err != nil {
		return err
	}
	db, err := index.Open(ctx, cachePath(o.CacheDir, repoID), repoID, index.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	var packs []index.Pack
	for p := range o.packCount() {
		pk := index.Pack{ID: o.packID(p), Type: blob.Data, Size: packSize(o.blobsIn(p))}
		if err := sparsePack(o.Dir, pk); err != nil {
			return err
		}
		packs = append(packs, pk)
		if len(packs) == o.PerIndex || p == o.packCount()-1 {
			if err := addIndex(ctx, db, o.Dir, packs, s.Indexes); err != nil {
				return err
			}
			s.Indexes++
			packs = packs[:0]
		}
		s.Packs++
	}
	return nil
}

// sparsePack creates the pack object as a sparse file of the right size:
// listings see it, nothing here reads it (prune's plan is made dry).
func sparsePack(dir string, p index.Pack) error {
	name := p.ID.String()
	path := filepath.Join(dir, "data", name[:2], name)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := f.Truncate(p.Size); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// addIndex caches one index object's packs under a content-like name and
// writes a placeholder object of that name.
func addIndex(ctx context.Context, db *index.DB, dir string, packs []index.Pack, n int) error {
	name := "index/" + blob.ID(sha256.Sum256(fmt.Appendf(nil, "synthetic index %d %s", n, packs[0].ID))).String()
	if err := db.AddIndexFile(ctx, name, packs); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, filepath.FromSlash(name)), []byte("synthetic placeholder\n"), 0o600)
}
