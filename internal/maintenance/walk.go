package maintenance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"golang.org/x/sync/errgroup"

	"bbvault/internal/archiver"
	"bbvault/internal/backend"
	"bbvault/internal/blob"
	"bbvault/internal/crypto"
	"bbvault/internal/index"
	"bbvault/internal/repo"
	"bbvault/internal/tree"
)

// TreeError is a tree blob that could not be read or decoded.
type TreeError struct {
	ID  blob.ID
	Err error
}

// treeWalk visits every tree reachable from a set of roots once. It goes
// level by level and reads the trees of one level pack by pack, each pack
// with as few ranged requests as the trees' places allow, so a home of
// 100,000 directories costs a few requests per tree pack and level, not
// 100,000.
type treeWalk struct {
	r       *repo.Repository
	workers int
	// visit is called once per tree, from one goroutine at a time.
	visit func(id blob.ID, t tree.Tree)

	mu     sync.Mutex
	seen   map[blob.ID]struct{}
	next   []blob.ID
	errors []TreeError
}

func newTreeWalk(r *repo.Repository, workers int, visit func(blob.ID, tree.Tree)) *treeWalk {
	return &treeWalk{r: r, workers: max(workers, 1), visit: visit, seen: map[blob.ID]struct{}{}}
}

// run walks from roots. Trees that cannot be read are returned, not fatal;
// the error is for a failing backend, cache or context.
func (w *treeWalk) run(ctx context.Context, roots []blob.ID) ([]TreeError, error) {
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

// unseen marks ids as seen and returns those that were not.
func (w *treeWalk) unseen(ids []blob.ID) []blob.ID {
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
func (w *treeWalk) level(ctx context.Context, ids []blob.ID) error {
	byPack := map[blob.ID][]index.BlobEntry{}
	for _, id := range ids {
		locs, err := w.r.Index().Lookup(ctx, id)
		if err != nil {
			return err
		}
		if len(locs) == 0 {
			w.fail(id, fmt.Errorf("tree %s: %w", id.Short(), repo.ErrBlobNotFound))
			continue
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
// read again through LoadBlob, which tries every other copy.
func (w *treeWalk) readPack(ctx context.Context, pack blob.ID, entries []index.BlobEntry) error {
	handled := map[blob.ID]bool{}
	err := w.r.ReadBlobs(ctx, pack, entries, func(e index.BlobEntry, plain []byte, err error) error {
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
func (w *treeWalk) loadOne(ctx context.Context, id blob.ID) error {
	t, err := archiver.LoadTree(ctx, w.r, id)
	if err != nil {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		if !isDamage(err) {
			return fmt.Errorf("read tree %s: %w", id.Short(), err)
		}
		w.fail(id, err)
		return nil
	}
	w.accept(id, t)
	return nil
}

func (w *treeWalk) decoded(id blob.ID, plain []byte) {
	t, err := tree.Decode(plain)
	if err != nil {
		w.fail(id, fmt.Errorf("tree %s: %w", id.Short(), err))
		return
	}
	w.accept(id, t)
}

func (w *treeWalk) accept(id blob.ID, t tree.Tree) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.visit(id, t)
	for i := range t.Nodes {
		if t.Nodes[i].Kind == tree.Dir {
			w.next = append(w.next, t.Nodes[i].Subtree)
		}
	}
}

func (w *treeWalk) fail(id blob.ID, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.errors = append(w.errors, TreeError{ID: id, Err: err})
}

// isDamage tells damage to the repository (a blob or pack missing, short
// or corrupt) from a failure to reach it, which says nothing about the data.
func isDamage(err error) bool {
	return errors.Is(err, repo.ErrCorruptBlob) || errors.Is(err, repo.ErrBlobNotFound) ||
		errors.Is(err, tree.ErrInvalid) || errors.Is(err, crypto.ErrAuth) ||
		errors.Is(err, io.ErrUnexpectedEOF) || backend.IsNotFound(err)
}
