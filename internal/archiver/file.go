package archiver

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"bbvault/internal/homewalk"
	"bbvault/internal/tree"
)

// reuse fills node's content from the parent when the file is unchanged and
// every blob it names is still in the repository.
func (a *archiver) reuse(ctx context.Context, old, node *tree.Node) bool {
	if old == nil || homewalk.Changed(*old, *node) {
		return false
	}
	for _, id := range old.Content {
		if ok, err := a.w.Has(ctx, id); err != nil || !ok {
			return false
		}
	}
	node.Content = old.Content
	a.unchanged.Add(1)
	a.opts.Progress.Files.Add(1)
	a.opts.Progress.Bytes.Add(node.Size)
	return true
}

// file reads one file into the repository.
func (a *archiver) file(ctx context.Context, e homewalk.Entry, node *tree.Node) error {
	f, err := homewalk.OpenFile(e.Path)
	if errors.Is(err, fs.ErrNotExist) {
		// Deleted since the directory was listed (a git lock file on a
		// live instance): leave it out, as if listed a moment later.
		a.vanished(e.RelPath, node)
		return nil
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", e.RelPath, err)
	}
	defer f.Close()
	res, err := a.w.SaveStream(ctx, f)
	if err != nil {
		return fmt.Errorf("read %s: %w", e.RelPath, err)
	}
	node.Content = res.Blobs
	a.read.Add(res.Size)
	a.added.Add(res.NewBytes)
	a.opts.Progress.Files.Add(1)
	a.opts.Progress.Bytes.Add(e.Size)
	a.opts.Progress.Read.Add(res.Size)
	return a.checkStable(e, node, res.Size)
}

// checkStable notes a file that changed while it was read. Its node keeps
// the bytes as read, its size and its real mtime (the one after the read),
// but the CTime that marks a changed file (homewalk.ChangedWhileRead), which
// no file on disk has: the next pass (the locked one) sees it as changed
// and reads it again.
func (a *archiver) checkStable(e homewalk.Entry, node *tree.Node, n int64) error {
	cur, stable, err := homewalk.Stable(e.Node, e.Path)
	if err == nil && stable && n == e.Size {
		return nil
	}
	a.mu.Lock()
	a.stats.ChangedDuringRead = append(a.stats.ChangedDuringRead, e.RelPath)
	a.mu.Unlock()
	a.log.Warn("file changed while it was read: stored as read, the next pass reads it again", "path", e.RelPath, "bytes_read", n)
	node.Size = n
	if err == nil {
		node.MTime = cur.MTime
	}
	node.CTime = homewalk.ChangedWhileRead
	return nil
}

// vanished marks an entry deleted while the home was read; the directory's
// tree leaves it out.
func (a *archiver) vanished(rel string, node *tree.Node) {
	a.warn(homewalk.Warning{RelPath: rel, Reason: "deleted while the home was read"})
	node.Kind = 0
}

// present drops the entries marked as vanished.
func present(nodes []tree.Node) []tree.Node {
	out := nodes[:0]
	for _, n := range nodes {
		if n.Kind != 0 {
			out = append(out, n)
		}
	}
	return out
}
