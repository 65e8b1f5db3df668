package maintenance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"bbvault/internal/blob"
	"bbvault/internal/index"
	"bbvault/internal/repo"
	"bbvault/internal/tree"
	"bbvault/internal/treewalk"
)

// CheckOptions configure Check.
type CheckOptions struct {
	ReadData bool   // download every pack (of Subset) and verify every blob
	Subset   Subset // which packs ReadData reads; zero value: all
	Workers  int    // concurrent backend requests; default 8
	Logger   *slog.Logger
}

// Problem kinds.
const (
	KindPackMissing     = "pack-missing"     // the index lists a pack the backend does not have
	KindPackSize        = "pack-size"        // the pack's size differs from the index's
	KindPackHeader      = "pack-header"      // the header is unreadable or disagrees with the index
	KindPackDamaged     = "pack-damaged"     // blobs that do not decrypt or match their ID
	KindBlobsMissing    = "blobs-missing"    // blobs snapshots use that no index lists
	KindTreeDamaged     = "tree-damaged"     // a listed tree that cannot be read or decoded
	KindSnapshotDamaged = "snapshot-damaged" // a manifest that cannot be read
	KindIndexDamaged    = "index-damaged"    // an index object that cannot be read
)

// Problem is one thing check found wrong, with what it affects.
type Problem struct {
	Kind     string     `json:"kind"`
	Pack     string     `json:"pack,omitempty"`
	Snapshot string     `json:"snapshot,omitempty"`
	Blobs    []string   `json:"blobs,omitempty"`
	Message  string     `json:"message"`
	Affected []Affected `json:"affected,omitempty"`

	blobs []blob.ID
}

// Affected names what one snapshot loses to a problem: files (and, for a
// damaged tree, whole directories, written with a trailing slash) and
// streams such as the database dump.
type Affected struct {
	Snapshot string    `json:"snapshot"`
	Time     time.Time `json:"time"`
	Paths    []string  `json:"paths,omitempty"`
	Streams  []string  `json:"streams,omitempty"`
}

// CheckResult sums up a check.
type CheckResult struct {
	Snapshots         int    `json:"snapshots"`
	Trees             int    `json:"trees"`
	Packs             int    `json:"packs"`
	PacksRead         int    `json:"packs_read"`
	BlobsRead         int    `json:"blobs_read"`
	BytesRead         int64  `json:"bytes_read"`
	ReadData          string `json:"read_data,omitempty"` // the subset read: "all", "10%", "2/5"
	UnreferencedPacks int    `json:"unreferenced_packs"`
	UnreferencedBytes int64  `json:"unreferenced_bytes"`
	IndexObjectsRead  int    `json:"index_objects_read,omitempty"`
	// Leftovers are what interrupted writes left beside the objects
	// (temporary files, incomplete uploads): not damage; prune and repair
	// remove those older than LeftoverAge.
	Leftovers     []Leftover `json:"leftovers,omitempty"`
	LeftoverBytes int64      `json:"leftover_bytes,omitempty"`
	Problems      []Problem  `json:"problems"`
}

// OK reports whether check found no damage. Unreferenced packs (left by
// interrupted runs, removed by prune) are not damage.
func (c *CheckResult) OK() bool { return len(c.Problems) == 0 }

// Check verifies the repository: every pack the index lists exists with its
// size and a header that matches the index, every snapshot's manifest and
// trees read back, and every blob they use is listed. With ReadData it also
// downloads the packs and verifies each blob. Damage is reported in the
// result, mapped to the snapshots and paths it affects; the error is for a
// check that could not run. The caller holds at least a shared lock.
func Check(ctx context.Context, r *repo.Repository, opts CheckOptions) (*CheckResult, error) {
	if opts.Workers <= 0 {
		opts.Workers = 8
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	c := &checker{r: r, opts: opts, res: &CheckResult{Problems: []Problem{}},
		bad: map[blob.ID][]int{}, badAt: map[location]bool{}}
	if opts.ReadData {
		c.res.ReadData = opts.Subset.String()
	}
	if err := c.run(ctx); err != nil {
		return nil, err
	}
	return c.res, nil
}

type checker struct {
	r    *repo.Repository
	opts CheckOptions
	res  *CheckResult

	mu    sync.Mutex
	bad   map[blob.ID][]int // blob → the problems it is part of
	badAt map[location]bool // copies known bad
	snaps []*repo.Manifest
	found []repo.Damage // damage this check found, recorded at its end
	// skipped is one pack the subset left out, a random one, read when
	// the subset would read none.
	skipped  *index.Pack
	nSkipped int
}

type location struct{ pack, blob blob.ID }

func (c *checker) run(ctx context.Context) error {
	// Manifests are listed before the index is synced: a snapshot finishing
	// meanwhile has written its index objects before its manifest.
	ids, err := c.r.SnapshotIDs(ctx)
	if err != nil {
		return err
	}
	if err := c.r.SyncIndex(ctx); err != nil {
		return err
	}
	if err := c.checkIndexObjects(ctx); err != nil {
		return err
	}
	if err := c.checkPacks(ctx); err != nil {
		return err
	}
	if err := c.recordedDamage(ctx); err != nil {
		return err
	}
	if err := c.checkSnapshots(ctx, ids); err != nil {
		return err
	}
	if err := c.r.Packs().RecordDamage(ctx, c.found); err != nil {
		c.opts.Logger.Warn("could not record the damage found", "error", err)
	}
	c.listLeftovers(ctx)
	return c.locate(ctx)
}

// addProblem records a problem and the blobs it makes suspect.
func (c *checker) addProblem(p Problem) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := len(c.res.Problems)
	sort.Slice(p.blobs, func(a, b int) bool { return p.blobs[a].String() < p.blobs[b].String() })
	for _, id := range p.blobs {
		c.bad[id] = append(c.bad[id], i)
		p.Blobs = append(p.Blobs, id.String())
	}
	c.res.Problems = append(c.res.Problems, p)
}

// markBadCopies notes copies of blobs that are damaged in a given pack.
func (c *checker) markBadCopies(pack blob.ID, ids []blob.ID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		c.badAt[location{pack, id}] = true
	}
}

// checkSnapshots reads every manifest and walks the trees, noting blobs
// that no index lists.
func (c *checker) checkSnapshots(ctx context.Context, ids []string) error {
	known, err := c.r.Packs().KnownBlobs(ctx)
	if err != nil {
		return err
	}
	missing := map[blob.ID]struct{}{}
	var roots []blob.ID
	for _, id := range ids {
		m, err := c.r.LoadSnapshot(ctx, id)
		if errors.Is(err, repo.ErrNoSnapshot) {
			continue // forgotten while check ran
		}
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			c.addProblem(Problem{Kind: KindSnapshotDamaged, Snapshot: id, Message: err.Error()})
			continue
		}
		c.snaps = append(c.snaps, m)
		roots = append(roots, m.Trees()...)
		for _, s := range m.Streams {
			noteMissing(known, s.Blobs, missing)
		}
	}
	c.res.Snapshots = len(c.snaps)
	treeErrs, err := treewalk.Reachable(ctx, c.r, roots, c.opts.Workers, func(_ blob.ID, t tree.Tree) {
		c.res.Trees++
		for i := range t.Nodes {
			noteMissing(known, t.Nodes[i].Content, missing)
		}
	})
	if err != nil {
		return err
	}
	c.treeProblems(treeErrs, missing)
	c.missingProblem(missing)
	return nil
}

func noteMissing(known *index.IDSet, ids []blob.ID, missing map[blob.ID]struct{}) {
	for _, id := range ids {
		if !known.Has(id) {
			missing[id] = struct{}{}
		}
	}
}

func (c *checker) treeProblems(errs []treewalk.TreeError, missing map[blob.ID]struct{}) {
	for _, te := range errs {
		if errors.Is(te.Err, repo.ErrBlobNotFound) {
			missing[te.ID] = struct{}{}
			continue
		}
		c.addProblem(Problem{Kind: KindTreeDamaged, blobs: []blob.ID{te.ID},
			Message: fmt.Sprintf("tree %s cannot be read: %v", te.ID.Short(), te.Err)})
	}
}

func (c *checker) missingProblem(missing map[blob.ID]struct{}) {
	if len(missing) == 0 {
		return
	}
	ids := make([]blob.ID, 0, len(missing))
	for id := range missing {
		ids = append(ids, id)
	}
	c.addProblem(Problem{Kind: KindBlobsMissing, blobs: ids,
		Message: fmt.Sprintf("%d blobs that snapshots use are in no index object", len(ids))})
}
