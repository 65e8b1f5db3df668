package synth

import (
	"context"
	"fmt"
	"time"

	"bbvault/internal/backend/local"
	"bbvault/internal/blob"
	"bbvault/internal/repo"
	"bbvault/internal/tree"
)

// filesPerDir is how many file nodes (one per pack) a directory holds.
const filesPerDir = 100

// used returns the blobs of pack k the synthetic snapshot uses: none of
// every 20th pack (prune deletes those), half of the next one (prune
// weighs repacking those), all of the others.
func used(ids []blob.ID, k int) []blob.ID {
	switch k % 20 {
	case 0:
		return nil
	case 1:
		return ids[:len(ids)/2]
	}
	return ids
}

// writeSnapshot saves, through bbvault's own writer, a tree with one file
// per pack naming the blobs it uses, a directory per filesPerDir files,
// and the snapshot manifest.
func writeSnapshot(ctx context.Context, o Options, s *Summary) error {
	be, err := local.Open(o.Dir)
	if err != nil {
		return err
	}
	r, err := repo.Open(ctx, be, o.Password, repo.OpenOptions{CacheDir: o.CacheDir, Logger: o.Logger})
	if err != nil {
		return err
	}
	defer r.Close()
	w := r.NewWriter(ctx, repo.WriterOptions{})
	root, err := saveTrees(ctx, o, w, s)
	if err != nil {
		w.Abort(err)
		return err
	}
	if err := w.Finish(ctx); err != nil {
		return err
	}
	m := &repo.Manifest{Time: time.Now(), Host: "synthetic", Home: "/synthetic", Tree: &root, Version: "synthetic",
		Counts: repo.Counts{Files: int64(o.packCount())}}
	_, err = r.SaveSnapshot(ctx, m)
	return err
}

// saveTrees writes the directory trees and the root tree.
func saveTrees(ctx context.Context, o Options, w *repo.Writer, s *Summary) (blob.ID, error) {
	var dirs []tree.Node
	var files []tree.Node
	flush := func() error {
		id, err := saveTree(ctx, w, files)
		if err != nil {
			return err
		}
		dirs = append(dirs, tree.Node{Name: fmt.Sprintf("d%06d", len(dirs)), Kind: tree.Dir, Mode: 0o755, Subtree: id})
		s.TreeBlobs++
		files = files[:0]
		return nil
	}
	for k := range o.packCount() {
		content := used(o.packBlobs(k), k)
		s.UsedBlobs += len(content)
		files = append(files, tree.Node{Name: fmt.Sprintf("f%08d", k), Kind: tree.File, Mode: 0o644,
			Size: int64(len(content)) * (blobLength + 100), Content: content})
		if len(files) == filesPerDir {
			if err := flush(); err != nil {
				return blob.ID{}, err
			}
		}
	}
	if len(files) > 0 {
		if err := flush(); err != nil {
			return blob.ID{}, err
		}
	}
	s.TreeBlobs++
	return saveTree(ctx, w, dirs)
}

func saveTree(ctx context.Context, w *repo.Writer, nodes []tree.Node) (blob.ID, error) {
	b, err := tree.Encode(tree.Tree{Nodes: nodes})
	if err != nil {
		return blob.ID{}, err
	}
	return w.SaveBlob(ctx, blob.Tree, b)
}
