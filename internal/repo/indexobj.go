package repo

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"bbvault/internal/backend"
	"bbvault/internal/blob"
	"bbvault/internal/index"
)

const indexVersion = 1

// indexObject is the JSON form of an index object: the packs it lists and,
// for a prune's rewrite, the index objects it supersedes.
type indexObject struct {
	Version    int         `json:"version"`
	Packs      []indexPack `json:"packs"`
	Supersedes []string    `json:"supersedes,omitempty"`
}

type indexPack struct {
	ID    blob.ID     `json:"id"`
	Size  int64       `json:"size"`
	Type  blob.Type   `json:"type"`
	Blobs []indexBlob `json:"blobs"`
}

// indexBlob is one blob of a pack; its type is the pack's.
type indexBlob struct {
	ID        blob.ID `json:"id"`
	Offset    uint32  `json:"off"`
	Length    uint32  `json:"len"`
	RawLength uint32  `json:"raw"`
}

func toIndexPacks(packs []index.Pack) []indexPack {
	out := make([]indexPack, len(packs))
	for i, p := range packs {
		ip := indexPack{ID: p.ID, Size: p.Size, Type: p.Type, Blobs: make([]indexBlob, len(p.Blobs))}
		for j, b := range p.Blobs {
			ip.Blobs[j] = indexBlob{b.ID, b.Offset, b.Length, b.RawLength}
		}
		out[i] = ip
	}
	return out
}

func fromIndexPacks(packs []indexPack) []index.Pack {
	out := make([]index.Pack, len(packs))
	for i, p := range packs {
		ip := index.Pack{ID: p.ID, Size: p.Size, Type: p.Type, Blobs: make([]index.BlobEntry, len(p.Blobs))}
		for j, b := range p.Blobs {
			ip.Blobs[j] = index.BlobEntry{ID: b.ID, Type: p.Type, Offset: b.Offset, Length: b.Length, RawLength: b.RawLength}
		}
		out[i] = ip
	}
	return out
}

// writeIndex lists the uploaded, not yet indexed packs in a new index object.
func (w *Writer) writeIndex(ctx context.Context) error {
	w.idxMu.Lock()
	defer w.idxMu.Unlock()
	return w.writeIndexLocked(ctx)
}

func (w *Writer) writeIndexLocked(ctx context.Context) error {
	if len(w.unlisted) == 0 {
		return nil
	}
	if _, err := w.r.saveIndex(ctx, w.unlisted, nil); err != nil {
		return err
	}
	w.unlisted, w.unlistedBlobs = nil, 0
	return nil
}

// saveIndex writes an index object listing packs (and superseding the named
// index objects) and adds it to the local cache. It returns the object's name.
func (r *Repository) saveIndex(ctx context.Context, packs []index.Pack, supersedes []string) (string, error) {
	stored, err := r.SealJSON("index", indexObject{Version: indexVersion, Packs: toIndexPacks(packs), Supersedes: supersedes})
	if err != nil {
		return "", err
	}
	name := contentName(indexPrefix, stored)
	if err := putBytes(ctx, r.be, name, stored); err != nil {
		return "", err
	}
	if err := r.idx.AddIndexFile(ctx, name, packs); err != nil {
		return "", fmt.Errorf("cache index %s: %w", name, err)
	}
	if !r.damage().empty() {
		// New copies may vouch for blobs that were suspect.
		if err := r.reloadDamage(ctx); err != nil {
			r.log.Warn("could not bring the damage view up to date", "error", err)
		}
	}
	return name, nil
}

// loadIndex reads and decodes one index object.
func (r *Repository) loadIndex(ctx context.Context, name string) ([]index.Pack, []string, error) {
	var obj indexObject
	if err := r.loadJSON(ctx, name, "index", &obj); err != nil {
		return nil, nil, err
	}
	if obj.Version != indexVersion {
		return nil, nil, fmt.Errorf("index %s has unknown version %d", name, obj.Version)
	}
	if err := checkIndexObject(name, fromIndexPacks(obj.Packs)); err != nil {
		return nil, nil, err
	}
	return fromIndexPacks(obj.Packs), obj.Supersedes, nil
}

// listIndexes returns the names of the repository's index objects.
func (r *Repository) listIndexes(ctx context.Context) ([]string, error) {
	var names []string
	err := r.be.List(ctx, indexPrefix, func(oi backend.ObjectInfo) error {
		names = append(names, oi.Name)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list index objects: %w", err)
	}
	return names, nil
}

// SyncIndex brings the local cache in line with the repository's index
// objects: new ones (from other hosts or runs) are loaded, vanished ones
// (removed by a prune elsewhere) are dropped. An index object that is
// damaged is left out with a warning, not the end of every command: the
// packs it lists look unreferenced until `bbvault repair index` indexes
// them again from their headers (Packs.UnreadableIndexes names it). Then
// the damage records are synced the same way.
func (r *Repository) SyncIndex(ctx context.Context) error {
	skipped := map[string]error{}
	var mu sync.Mutex
	load := func(ctx context.Context, name string) ([]index.Pack, error) {
		packs, _, err := r.loadIndex(ctx, name)
		if err != nil && ctx.Err() == nil && IsDamage(err) {
			mu.Lock()
			skipped[name] = err
			mu.Unlock()
			return nil, fmt.Errorf("%w (run `bbvault repair index`): %w", index.ErrSkip, err)
		}
		return packs, err
	}
	if err := r.idx.Sync(ctx, r.listIndexes, load); err != nil {
		return fmt.Errorf("sync index cache: %w", err)
	}
	r.skipMu.Lock()
	for name, err := range skipped {
		if _, told := r.skipped[name]; !told {
			r.log.Warn("index object cannot be read; left out of the cache: the packs it lists look unreferenced "+
				"until `bbvault repair index` indexes them again from their headers", "object", name, "error", err)
		}
	}
	r.skipped = skipped
	r.skipMu.Unlock()
	if err := r.syncDamage(ctx); err != nil {
		return fmt.Errorf("sync damage records: %w", err)
	}
	return nil
}

// UnreadableIndexes returns the index objects the last index sync left out
// because they are damaged, with the reason. An object ingested by an
// earlier sync and damaged since is not among them: check --read-data
// reads every index object again.
func (ps *Packs) UnreadableIndexes() map[string]error {
	ps.r.skipMu.Lock()
	defer ps.r.skipMu.Unlock()
	out := make(map[string]error, len(ps.r.skipped))
	for k, v := range ps.r.skipped {
		out[k] = v
	}
	return out
}

// IndexObjectNames lists the repository's index objects (not the cache's).
func (ps *Packs) IndexObjectNames(ctx context.Context) ([]string, error) {
	return ps.r.listIndexes(ctx)
}

// LoadIndexObject reads one index object from the repository and returns
// the packs it lists and the index objects it supersedes. A damaged object
// is an error that Classify calls Damaged (Missing once deleted).
func (ps *Packs) LoadIndexObject(ctx context.Context, name string) ([]index.Pack, []string, error) {
	if !strings.HasPrefix(name, indexPrefix) {
		return nil, nil, fmt.Errorf("load index: %q is not an index object", name)
	}
	return ps.r.loadIndex(ctx, name)
}

// checkIndexObject rejects an index object whose content makes no sense
// (a null ID, a pack listed twice): sealed with our key, so a bug wrote it,
// but damage all the same, to be rebuilt from the packs.
func checkIndexObject(name string, packs []index.Pack) error {
	seen := map[blob.ID]bool{}
	for _, p := range packs {
		if p.ID.IsNull() || seen[p.ID] || p.Size < 0 || (p.Type != blob.Data && p.Type != blob.Tree) {
			return fmt.Errorf("index %s lists pack %s in a way no writer does: %w", name, p.ID.Short(), ErrCorrupt)
		}
		seen[p.ID] = true
	}
	return nil
}
