package treewalk

import (
	"context"

	"bbvault/internal/blob"
	"bbvault/internal/tree"
)

// Fold computes a value of type T for trees bottom up: a tree's value is
// made from its nodes and the values of its subdirectories. Each tree ID is
// folded once, however many directories and snapshots share it, so folding
// every snapshot of a repository costs about as much as folding one. A Fold
// is for one goroutine.
type Fold[T any] struct {
	Loader Loader
	// Known, if set, gives the value of a tree without reading it (a tree
	// already known to be lost, say); ok false reads it.
	Known func(id blob.ID) (v T, ok bool)
	// Unreadable gives the value of a tree that cannot be read; an error
	// stops the fold. Nil means the error stops it.
	Unreadable func(id blob.ID, err error) (T, error)
	// Tree combines a readable tree with its subdirectories' values: sub[i]
	// is the value of t.Nodes[i] when that node is a directory.
	Tree func(id blob.ID, t tree.Tree, sub []T) (T, error)

	memo map[blob.ID]T
}

// Of returns the value of the tree id.
func (f *Fold[T]) Of(ctx context.Context, id blob.ID) (T, error) {
	if v, ok := f.memo[id]; ok {
		return v, nil
	}
	v, err := f.compute(ctx, id)
	if err != nil {
		return v, err
	}
	if f.memo == nil {
		f.memo = map[blob.ID]T{}
	}
	f.memo[id] = v
	return v, nil
}

func (f *Fold[T]) compute(ctx context.Context, id blob.ID) (T, error) {
	if f.Known != nil {
		if v, ok := f.Known(id); ok {
			return v, nil
		}
	}
	t, err := f.Loader.LoadTree(ctx, id)
	if err != nil {
		var zero T
		if f.Unreadable == nil || ctx.Err() != nil {
			return zero, err
		}
		return f.Unreadable(id, err)
	}
	sub := make([]T, len(t.Nodes))
	for i := range t.Nodes {
		if t.Nodes[i].Kind != tree.Dir {
			continue
		}
		if sub[i], err = f.Of(ctx, t.Nodes[i].Subtree); err != nil {
			return sub[i], err
		}
	}
	return f.Tree(id, t, sub)
}
