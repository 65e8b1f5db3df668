package treewalk

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sync/errgroup"

	"bbvault/internal/blob"
	"bbvault/internal/index"
	"bbvault/internal/repo"
	"bbvault/internal/tree"
)

// TreeError is a tree that could not be read or decoded.
type TreeError struct {
	ID  blob.ID
	Err error
}

// Reachable calls visit once for every tree reachable from roots (a tree
// shared by many snapshots is read once). It goes level by level and reads
// the trees of one level pack by pack, each pack with as few ranged
// requests as the trees' places allow, so a home of 100,000 directories
// costs a few requests per tree pack and level, not 100,000. visit is
// called from one goroutine at a time.
//
// Trees that cannot be read (repo.IsDamage) are returned, not fatal; the
// error is for a failing backend, cache or context.
func Reachable(ctx context.Context, r *repo.Repository, roots []blob.ID, workers int, visit func(blob.ID, tree.Tree)) ([]TreeError, error) {
	w := &reach{r: r, workers: max(workers, 1), visit: visit, seen: map[blob.ID]struct{}{}}
	level := w.unseen(roots)
	for len(level) > 0 {
		if err := w.level(ctx, level); err != nil {
			return nil, err
		}
		w.mu.Lock()
		level, w.next = w.unseen(w.next), nil
		w.mu.Unlock()
	}
	return w.errors, nil
}

type reach struct {
	r       *repo.Repository
	workers int
	visit   func(blob.ID, tree.Tree)

	mu     sync.Mutex
	seen   map[blob.ID]struct{}
	next   []blob.ID
	errors []TreeError
}

// unseen marks ids as seen and returns those that were not.
func (w *reach) unseen(ids []blob.ID) []blob.ID {
	var out []blob.ID
	for _, id := range ids {
		if _, ok := w.seen[id]; !ok {
			w.seen[id] = struct{}{}
			out = append(out, id)
		}
	}
	return out
}

// level reads one level's trees, grouped by the pack holding them.
func (w *reach) level(ctx context.Context, ids []blob.ID) error {
	byPack := map[blob.ID][]index.BlobEntry{}
	for _, id := range ids {
		locs, err := w.r.Locate(ctx, id)
		if errors.Is(err, repo.ErrBlobNotFound) {
			w.fail(id, fmt.Errorf("tree %s: %w", id.Short(), repo.ErrBlobNotFound))
			continue
		}
		if err != nil {
			return err
		}
		byPack[locs[0].Pack] = append(byPack[locs[0].Pack], locs[0].BlobEntry)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(w.workers)
	for pack, entries := range byPack {
		g.Go(func() error { return w.readPack(gctx, pack, entries) })
	}
	return g.Wait()
}

// readPack reads some trees of one pack. A tree whose copy there is bad is
// read again through LoadTree, which tries every other copy.
func (w *reach) readPack(ctx context.Context, pack blob.ID, entries []index.BlobEntry) error {
	handled := map[blob.ID]bool{}
	err := w.r.Packs().ReadBlobs(ctx, pack, entries, func(e index.BlobEntry, plain []byte, err error) error {
		if err == nil {
			handled[e.ID] = true
			w.decoded(e.ID, plain)
		}
		return nil
	})
	if err != nil && ctx.Err() != nil {
		return err
	}
	for _, e := range entries {
		if handled[e.ID] {
			continue
		}
		handled[e.ID] = true
		if err := w.loadOne(ctx, e.ID); err != nil {
			return err
		}
	}
	return nil
}

func (w *reach) loadOne(ctx context.Context, id blob.ID) error {
	t, err := w.r.LoadTree(ctx, id)
	if err != nil {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		if !repo.IsDamage(err) {
			return fmt.Errorf("read tree %s: %w", id.Short(), err)
		}
		w.fail(id, err)
		return nil
	}
	w.accept(id, t)
	return nil
}

func (w *reach) decoded(id blob.ID, plain []byte) {
	t, err := tree.Decode(plain)
	if err != nil {
		w.fail(id, fmt.Errorf("tree %s: %w", id.Short(), err))
		return
	}
	w.accept(id, t)
}

func (w *reach) accept(id blob.ID, t tree.Tree) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.visit(id, t)
	for i := range t.Nodes {
		if t.Nodes[i].Kind == tree.Dir {
			w.next = append(w.next, t.Nodes[i].Subtree)
		}
	}
}

func (w *reach) fail(id blob.ID, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.errors = append(w.errors, TreeError{ID: id, Err: err})
}
