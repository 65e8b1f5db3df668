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

// packIDs returns pack k's ID and its blobs' IDs, the same every time for
// a seed: the index rows and the trees are written apart.
func packIDs(seed uint64, k, n int) (blob.ID, []blob.ID) {
	r := rand.New(rand.NewPCG(seed, uint64(k)))
	fill := func(id *blob.ID) {
		for i := 0; i < blob.IDSize; i += 8 {
			binary.LittleEndian.PutUint64(id[i:], r.Uint64())
		}
	}
	var pack blob.ID
	fill(&pack)
	ids := make([]blob.ID, n)
	for i := range ids {
		fill(&ids[i])
	}
	return pack, ids
}

// packCount is how many packs hold o.Blobs blobs.
func (o Options) packCount() int { return (o.Blobs + o.PerPack - 1) / o.PerPack }

// blobsIn is how many blobs pack k holds.
func (o Options) blobsIn(k int) int { return min(o.PerPack, o.Blobs-k*o.PerPack) }

// writeIndex adds the index rows to the cache, one index object per
// PerIndex packs, and writes the placeholder objects and sparse packs a
// listing of the repository shows: the cache and the repository agree,
// so bbvault's Sync finds nothing to load or drop.
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
	for k := range o.packCount() {
		p := makePack(o, k)
		if err := sparsePack(o.Dir, p); err != nil {
			return err
		}
		packs = append(packs, p)
		if len(packs) == o.PerIndex || k == o.packCount()-1 {
			if err := addIndex(ctx, db, o.Dir, packs, s.Indexes); err != nil {
				return err
			}
			s.Indexes++
			packs = packs[:0]
			if s.Indexes%500 == 0 {
				o.Logger.Info("synthetic index", "blobs", (k+1)*o.PerPack, "of", o.Blobs)
			}
		}
		s.Packs++
	}
	return nil
}

func makePack(o Options, k int) index.Pack {
	id, ids := packIDs(o.Seed, k, o.blobsIn(k))
	p := index.Pack{ID: id, Type: blob.Data, Blobs: make([]index.BlobEntry, len(ids))}
	for i, bid := range ids {
		p.Blobs[i] = index.BlobEntry{ID: bid, Type: blob.Data, Offset: uint32(i * blobLength),
			Length: blobLength, RawLength: blobLength + 100}
	}
	p.Size = int64(len(ids))*blobLength + int64(len(ids))*41 + 32
	return p
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
