package repo

import (
	"context"
	"fmt"
	"io"
	"sync"

	"bbvault/internal/blob"
	"bbvault/internal/index"
)

// treePackCacheSize bounds the memory of whole tree packs kept for reads.
const treePackCacheSize = 256 << 20

// treePacks keeps whole tree packs in memory: a restore or a snapshot with
// a parent reads thousands of small tree blobs, and one request per pack
// instead of one per tree is what makes that fast on S3.
type treePacks struct {
	mu      sync.Mutex
	packs   map[blob.ID]*packEntry
	size    int
	maxSize int
}

type packEntry struct {
	once sync.Once
	data []byte
	err  error
}

func newTreePacks() *treePacks {
	return &treePacks{packs: map[blob.ID]*packEntry{}, maxSize: treePackCacheSize}
}

// get returns the pack's bytes, reading the pack once however many callers
// ask at the same time.
func (c *treePacks) get(ctx context.Context, r *Repository, loc index.Location) ([]byte, error) {
	c.mu.Lock()
	e, ok := c.packs[loc.Pack]
	if !ok {
		e = &packEntry{}
		c.packs[loc.Pack] = e
	}
	c.mu.Unlock()
	e.once.Do(func() {
		e.data, e.err = r.readWholePack(ctx, loc.Pack)
		c.account(loc.Pack, e)
	})
	return e.data, e.err
}

// account adds a loaded pack's size, dropping other packs when over budget;
// a failed load is forgotten so a later call can try again.
func (c *treePacks) account(id blob.ID, e *packEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e.err != nil {
		delete(c.packs, id)
		return
	}
	c.size += len(e.data)
	for other, oe := range c.packs {
		if c.size <= c.maxSize {
			break
		}
		if other != id && oe.data != nil {
			c.size -= len(oe.data)
			delete(c.packs, other)
		}
	}
}

// drop forgets a pack that is being deleted.
func (c *treePacks) drop(id blob.ID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.packs[id]; ok {
		c.size -= len(e.data)
		delete(c.packs, id)
	}
}

func (r *Repository) readWholePack(ctx context.Context, id blob.ID) ([]byte, error) {
	oi, err := r.be.Stat(ctx, packName(id))
	if err != nil {
		return nil, fmt.Errorf("pack %s: %w", id, err)
	}
	return r.readRange(ctx, packName(id), 0, oi.Size)
}

// loadTreeBlob serves a tree blob from its cached pack.
func (r *Repository) loadTreeBlob(ctx context.Context, loc index.Location, dst []byte) ([]byte, error) {
	data, err := r.trees.get(ctx, r, loc)
	if err != nil {
		return nil, fmt.Errorf("blob %s in pack %s: %w", loc.ID.Short(), loc.Pack, err)
	}
	end := int64(loc.Offset) + int64(loc.Length)
	if end > int64(len(data)) {
		return nil, fmt.Errorf("blob %s in pack %s: %w: the pack is shorter than the index says: %w", loc.ID.Short(), loc.Pack, ErrCorruptBlob, io.ErrUnexpectedEOF)
	}
	return r.openBlob(loc, data[loc.Offset:end], dst)
}
