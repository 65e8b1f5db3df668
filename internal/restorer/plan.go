package restorer

import (
	"context"
	"slices"

	"bbvault/internal/blob"
	"bbvault/internal/index"
)

// want is one blob to write at one offset of one file.
type want struct {
	loc    index.Location
	file   *target
	offset int64
	copies int // how many packs hold the blob
}

// plan groups the blobs of the files walked so far by the pack that holds
// them. It is handed to the readers in rounds, so that reading starts soon
// after the walk does; a round grows to twice the bytes of the one before,
// up to maxRound, so that later rounds read long runs of each pack.
type plan struct {
	pending      []*target // files waiting for their blobs to be located
	pendingBlobs int
	pendingBytes int64 // their size

	packs  map[blob.ID][]want // this round's
	bytes  int64              // stored bytes planned in this round
	round  int64              // the bytes at which this round is handed over
	rounds int
	read   map[blob.ID]int // rounds that read each pack
}

// Round sizes, in stored bytes.
const (
	firstRound = 16 << 20
	maxRound   = 1 << 30
)

func newPlan(first int64) *plan {
	return &plan{packs: map[blob.ID][]want{}, round: first, read: map[blob.ID]int{}}
}

// locateBatch is how many blobs are looked up in the index at once.
const locateBatch = 4096

// add plans the blobs of one file. Blobs are looked up in the index in
// batches, one read transaction for thousands.
func (p *plan) add(ctx context.Context, rs *restorer, t *target) error {
	p.pending = append(p.pending, t)
	p.pendingBlobs += len(t.node.Content)
	p.pendingBytes += t.node.Size
	if p.pendingBlobs >= locateBatch || p.bytes+p.pendingBytes >= p.round {
		return p.locate(ctx, rs)
	}
	return nil
}

// locate looks up the blobs of the files waiting for it and plans them;
// offsets follow from the blobs' sizes. A blob no index knows fails its
// file at once (its other blobs are not read).
func (p *plan) locate(ctx context.Context, rs *restorer) error {
	ids := make([]blob.ID, 0, p.pendingBlobs)
	for _, t := range p.pending {
		ids = append(ids, t.node.Content...)
	}
	wants := make([]want, len(ids))
	missing := make([]error, len(ids))
	err := rs.r.LocateMany(ctx, ids, func(i int, locs []index.Location, err error) error {
		if err != nil {
			missing[i] = err
		} else {
			wants[i] = want{loc: locs[0], copies: len(locs)}
		}
		return nil
	})
	if err != nil {
		return err
	}
	k := 0
	for _, t := range p.pending {
		n := len(t.node.Content)
		if err := p.plan(rs, t, wants[k:k+n], missing[k:k+n]); err != nil {
			return err
		}
		k += n
	}
	p.pending, p.pendingBlobs, p.pendingBytes = p.pending[:0], 0, 0
	return nil
}

// plan adds one located file to this round.
func (p *plan) plan(rs *restorer, t *target, wants []want, missing []error) error {
	for _, err := range missing {
		if err != nil {
			rs.fail(t, err)
			t.remaining.Store(1)
			return rs.done(t)
		}
	}
	var off int64
	for i := range wants {
		wants[i].file, wants[i].offset = t, off
		off += int64(wants[i].loc.RawLength)
	}
	t.size = off
	t.remaining.Store(int64(len(wants)))
	for _, w := range wants {
		p.packs[w.loc.Pack] = append(p.packs[w.loc.Pack], w)
		p.bytes += int64(w.loc.Length)
	}
	return nil
}

// full reports whether this round is big enough to hand over.
func (p *plan) full() bool { return p.bytes >= p.round }

// flush hands this round's spans to the readers, packs in a stable order,
// and starts the next round.
func (p *plan) flush(ctx context.Context, rs *restorer, out chan<- span) error {
	if err := p.locate(ctx, rs); err != nil {
		return err
	}
	ids := make([]blob.ID, 0, len(p.packs))
	for id := range p.packs {
		ids = append(ids, id)
		p.read[id]++
	}
	slices.SortFunc(ids, compareIDs)
	for _, id := range ids {
		for _, sp := range packSpans(id, p.packs[id]) {
			select {
			case out <- sp:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		}
	}
	if len(ids) > 0 {
		p.rounds++
	}
	p.packs, p.bytes, p.round = map[blob.ID][]want{}, 0, min(2*p.round, maxRound)
	return nil
}

// reread counts the packs read in more than one round.
func (p *plan) reread() int {
	n := 0
	for _, rounds := range p.read {
		if rounds > 1 {
			n++
		}
	}
	return n
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

func compareIDs(a, b blob.ID) int { return slices.Compare(a[:], b[:]) }

// packSpans cuts the wants of one pack into ranged reads, reading through
// gaps up to maxGap. A span holds no memory of its own: its reader takes
// from the budget blob by blob.
func packSpans(id blob.ID, ws []want) []span {
	slices.SortStableFunc(ws, func(a, b want) int { return int(a.loc.Offset) - int(b.loc.Offset) })
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
