package maintenance

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"bbvault/internal/blob"
	"bbvault/internal/index"
	"bbvault/internal/repo"
)

// IndexRepair is what repair index found and did.
type IndexRepair struct {
	IndexObjects int      `json:"index_objects"`
	Damaged      []string `json:"damaged_index_objects,omitempty"`
	// Superseded are index objects an interrupted prune or repair already
	// replaced, deleted now.
	Superseded []string `json:"superseded_index_objects,omitempty"`
	Packs      int      `json:"packs"`
	// HeadersRead counts the pack headers read: packs no intact index
	// object lists with their size, or every pack with ReadAllPacks.
	HeadersRead int `json:"headers_read"`
	// Indexed are packs listed again from their headers (no intact index
	// object listed them, or listed them wrong).
	Indexed []string `json:"packs_indexed,omitempty"`
	// Dropped are packs index objects listed that are gone.
	Dropped []string `json:"packs_dropped,omitempty"`
	// Unreadable are packs no intact index object lists whose header
	// cannot be read: their blobs cannot be found, and prune deletes them.
	Unreadable []string `json:"packs_unreadable,omitempty"`
	// HeaderDamaged are packs an intact index object lists whose header
	// cannot be read: repair packs salvages them.
	HeaderDamaged  []string      `json:"packs_header_damaged,omitempty"`
	IndexesWritten int           `json:"index_objects_written"`
	IndexesDeleted int           `json:"index_objects_deleted"`
	Duration       time.Duration `json:"-"`
	DurationMs     int64         `json:"duration_ms"`
}

// Changed reports whether the index needed (or, dry, needs) repairing.
func (ir *IndexRepair) Changed() bool {
	return len(ir.Damaged)+len(ir.Superseded)+len(ir.Indexed)+len(ir.Dropped) > 0
}

// indexScan is what the index step learns before it writes.
type indexScan struct {
	stored     map[blob.ID]int64
	good       map[string][]index.Pack // intact index objects, by name
	entries    map[blob.ID]index.Pack  // every pack an intact object lists (the first listing)
	listedBy   map[blob.ID][]string
	superseded map[string]bool
	fresh      map[blob.ID]index.Pack // entries read from pack headers that replace or add one
}

// repairIndex makes the index objects agree with the packs: the pack
// headers are the truth. Damaged index objects, objects naming packs that
// are gone or wrongly, and leftovers of an interrupted prune are replaced
// by new objects listing what they should; packs no intact object lists
// (those of a damaged or deleted object, or of an interrupted snapshot)
// are indexed from their headers. New objects are written before any is
// deleted.
func (rp *repairer) repairIndex(ctx context.Context) (*IndexRepair, error) {
	start := time.Now()
	res := &IndexRepair{}
	sc, err := rp.scanIndex(ctx, res)
	if err != nil {
		return nil, err
	}
	if err := rp.readHeaders(ctx, sc, res); err != nil {
		return nil, err
	}
	replace, packs := rp.indexPlan(sc, res)
	if rp.opts.DryRun {
		res.IndexesWritten, res.IndexesDeleted = countIndexObjects(packs), len(replace)
	} else if len(replace) > 0 || len(packs) > 0 {
		if err := rp.writeIndex(ctx, replace, packs, res); err != nil {
			return nil, err
		}
	}
	res.Duration = time.Since(start)
	res.DurationMs = res.Duration.Milliseconds()
	rp.log.Info("repair index", "objects", res.IndexObjects, "damaged", len(res.Damaged), "headers_read", res.HeadersRead,
		"indexed", len(res.Indexed), "dropped", len(res.Dropped), "duration", res.Duration)
	return res, nil
}

// scanIndex lists the packs and reads every index object.
func (rp *repairer) scanIndex(ctx context.Context, res *IndexRepair) (*indexScan, error) {
	sc := &indexScan{good: map[string][]index.Pack{}, entries: map[blob.ID]index.Pack{},
		listedBy: map[blob.ID][]string{}, superseded: map[string]bool{}, fresh: map[blob.ID]index.Pack{}}
	var err error
	if sc.stored, _, err = rp.r.Packs().List(ctx); err != nil {
		return nil, err
	}
	res.Packs = len(sc.stored)
	names, err := rp.r.Packs().IndexObjectNames(ctx)
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	res.IndexObjects = len(names)
	supersedes, err := rp.loadIndexObjects(ctx, names, sc, res)
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		if supersedes[name] {
			sc.superseded[name] = true
		}
	}
	for _, name := range names {
		for _, p := range sc.good[name] {
			if _, ok := sc.entries[p.ID]; !ok {
				sc.entries[p.ID] = p
			}
			sc.listedBy[p.ID] = append(sc.listedBy[p.ID], name)
		}
	}
	return sc, nil
}

// loadIndexObjects reads the index objects several at once, sorting them
// into intact and damaged; it returns the names intact ones supersede.
func (rp *repairer) loadIndexObjects(ctx context.Context, names []string, sc *indexScan, res *IndexRepair) (map[string]bool, error) {
	var mu sync.Mutex
	supersedes := map[string]bool{}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(rp.opts.Workers)
	for _, name := range names {
		g.Go(func() error {
			packs, sup, err := rp.r.Packs().LoadIndexObject(gctx, name)
			if err != nil && (gctx.Err() != nil || !repo.IsDamage(err)) {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				rp.log.Warn("index object cannot be read; it will be rebuilt from the packs", "object", name, "error", err)
				res.Damaged = append(res.Damaged, name)
				return nil
			}
			sc.good[name] = packs
			for _, s := range sup {
				supersedes[s] = true
			}
			return nil
		})
	}
	err := g.Wait()
	sort.Strings(res.Damaged)
	return supersedes, err
}

// readHeaders reads the headers of the packs the intact index objects do
// not list with their size (all of them with ReadAllPacks), and compares.
func (rp *repairer) readHeaders(ctx context.Context, sc *indexScan, res *IndexRepair) error {
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(rp.opts.Workers)
	for id, size := range sc.stored {
		e, listed := sc.entries[id]
		if listed && e.Size == size && !rp.opts.ReadAllPacks {
			continue
		}
		g.Go(func() error {
			hdr, err := rp.r.Packs().ReadHeader(gctx, id, size)
			if err != nil && (gctx.Err() != nil || !repo.IsDamage(err)) {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			res.HeadersRead++
			rp.judgeHeader(sc, res, id, size, hdr, err)
			return nil
		})
	}
	return g.Wait()
}

// judgeHeader decides what one pack's header means for the index.
func (rp *repairer) judgeHeader(sc *indexScan, res *IndexRepair, id blob.ID, size int64, hdr []index.BlobEntry, err error) {
	e, listed := sc.entries[id]
	if err == nil && (len(hdr) == 0 || !oneType(hdr)) {
		err = fmt.Errorf("pack %s: the header lists no blobs, or blobs of several types", id.Short())
	}
	switch {
	case err != nil && listed:
		rp.headerDamaged[id] = err.Error()
		res.HeaderDamaged = append(res.HeaderDamaged, id.String())
	case err != nil:
		rp.log.Warn("pack is in no index and its header cannot be read; its blobs cannot be found", "pack", id, "error", err)
		res.Unreadable = append(res.Unreadable, id.String())
	case listed && e.Size == size && repo.CompareHeader(e, hdr) == nil:
		// The index had it right.
	default:
		p := index.Pack{ID: id, Size: size, Type: hdr[0].Type, Blobs: hdr}
		sc.fresh[id] = p
		res.Indexed = append(res.Indexed, id.String())
	}
}

func oneType(hdr []index.BlobEntry) bool {
	for _, e := range hdr {
		if e.Type != hdr[0].Type || (e.Type != blob.Data && e.Type != blob.Tree) {
			return false
		}
	}
	return true
}

// indexPlan returns the index objects to replace and the packs the new
// ones list: what stays of the replaced intact objects, corrected from the
// headers, and the packs indexed again.
func (rp *repairer) indexPlan(sc *indexScan, res *IndexRepair) ([]string, []index.Pack) {
	replace := map[string]bool{}
	for _, name := range res.Damaged {
		replace[name] = true
	}
	for name := range sc.superseded {
		replace[name] = true
		res.Superseded = append(res.Superseded, name)
	}
	sort.Strings(res.Superseded)
	for id, p := range sc.entries {
		if _, ok := sc.stored[id]; !ok {
			res.Dropped = append(res.Dropped, id.String())
			rp.drop(p)
			markAll(replace, sc.listedBy[id])
		}
		if _, ok := sc.fresh[id]; ok {
			markAll(replace, sc.listedBy[id])
		}
	}
	var packs []index.Pack
	seen := map[blob.ID]bool{}
	for _, p := range sc.fresh {
		packs = append(packs, p)
		seen[p.ID] = true
		for _, b := range p.Blobs {
			rp.added[b.ID] = true
		}
	}
	for name := range replace {
		for _, p := range sc.good[name] {
			if _, stored := sc.stored[p.ID]; stored && !seen[p.ID] && !sc.superseded[name] {
				packs = append(packs, p)
				seen[p.ID] = true
			}
		}
	}
	sort.Strings(res.Dropped)
	sort.Strings(res.Indexed)
	return sortedSet(replace), packs
}

func markAll(set map[string]bool, names []string) {
	for _, n := range names {
		set[n] = true
	}
}

func sortedSet(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// writeIndex writes the new index objects, then deletes the replaced ones.
func (rp *repairer) writeIndex(ctx context.Context, replace []string, packs []index.Pack, res *IndexRepair) error {
	n, err := writeIndexes(ctx, rp.r, packs, replace)
	res.IndexesWritten = n
	if err != nil {
		return err
	}
	if err := rp.r.Packs().DeleteIndexes(ctx, replace); err != nil {
		return fmt.Errorf("delete the replaced index objects: %w", err)
	}
	res.IndexesDeleted = len(replace)
	return nil
}

// countIndexObjects is how many index objects writeIndexes writes for packs.
func countIndexObjects(packs []index.Pack) int {
	n, blobs := 0, 0
	for i, p := range packs {
		if i == 0 || blobs+len(p.Blobs) > maxBlobsPerIndex {
			n++
			blobs = 0
		}
		blobs += len(p.Blobs)
	}
	return n
}
