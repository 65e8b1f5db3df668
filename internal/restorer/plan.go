package restorer

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"

	"bbvault/internal/blob"
	"bbvault/internal/index"
	"bbvault/internal/tree"
)

// target is a regular file being filled.
type target struct {
	path      string
	rel       string
	node      tree.Node
	remaining atomic.Int64 // blobs still to write
	failed    atomic.Bool
}

// want is one blob to write at one offset of one file.
type want struct {
	loc    index.Location
	file   *target
	offset int64
}

// plan groups every blob of every file by the pack that holds it.
type plan struct {
	mu    sync.Mutex
	packs map[blob.ID][]want
	files []*target
}

func newPlan() *plan { return &plan{packs: map[blob.ID][]want{}} }

// add plans the blobs of one file; offsets follow from the blobs' sizes.
func (p *plan) add(ctx context.Context, rs *restorer, t *target) error {
	var off int64
	wants := make([]want, 0, len(t.node.Content))
	for _, id := range t.node.Content {
		locs, err := rs.r.Locate(ctx, id)
		if err != nil {
			return err
		}
		wants = append(wants, want{loc: locs[0], file: t, offset: off})
		off += int64(locs[0].RawLength)
	}
	t.remaining.Store(int64(len(wants)))
	p.mu.Lock()
	defer p.mu.Unlock()
	p.files = append(p.files, t)
	for _, w := range wants {
		p.packs[w.loc.Pack] = append(p.packs[w.loc.Pack], w)
	}
	return nil
}

// span is one ranged read of a pack and the blobs in it.
type span struct {
	pack       blob.ID
	start, end int64
	wants      []want // sorted by offset in the pack
}

// maxGap is the largest hole between blobs worth reading through rather
// than starting a new request.
const maxGap = 1 << 20

// spans turns the plan into ranged reads, packs in a stable order.
func (p *plan) spans() []span {
	ids := make([]blob.ID, 0, len(p.packs))
	for id := range p.packs {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return string(ids[i][:]) < string(ids[j][:]) })
	var out []span
	for _, id := range ids {
		out = append(out, packSpans(id, p.packs[id])...)
	}
	return out
}

func packSpans(id blob.ID, ws []want) []span {
	sort.Slice(ws, func(i, j int) bool { return ws[i].loc.Offset < ws[j].loc.Offset })
	var out []span
	for _, w := range ws {
		start, end := int64(w.loc.Offset), int64(w.loc.Offset)+int64(w.loc.Length)
		if n := len(out); n > 0 && start-out[n-1].end <= maxGap {
			out[n-1].end = max(out[n-1].end, end)
			out[n-1].wants = append(out[n-1].wants, w)
			continue
		}
		out = append(out, span{pack: id, start: start, end: end, wants: []want{w}})
	}
	return out
}
