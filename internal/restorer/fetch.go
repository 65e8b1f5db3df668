package restorer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"

	"bbvault/internal/backend"
	"bbvault/internal/blob"
	"bbvault/internal/repo"
)

// fetched is one blob read from a pack, on its way to the files that want
// it; err is set when it could not be read (damage: the pack is missing or
// shorter than the index says).
type fetched struct {
	wants  []want // every want of one blob
	stored []byte
	err    error
}

// batch is blobs handed to a decoder at once: one channel operation for
// many small blobs, not one each.
type batch []fetched

// Batches are handed over at this many blobs or bytes.
const (
	batchBlobs = 64
	batchBytes = 1 << 20
)

// run walks the tree and restores what it finds: the walk plans rounds of
// spans; readers read them (network or disk) while decoders decrypt,
// verify and write. The bytes between readers and decoders are bounded by
// Options.Memory, so reading never waits on writing until that is full.
func (rs *restorer) run(ctx context.Context, root blob.ID) error {
	g, ctx := errgroup.WithContext(ctx)
	spans := make(chan span, 2*rs.opts.Workers)
	blobs := make(chan batch, 16)
	budget := semaphore.NewWeighted(rs.opts.Memory)
	g.Go(func() error {
		defer close(spans)
		return rs.walk(ctx, root, spans)
	})
	g.Go(func() error {
		defer close(blobs)
		return rs.readSpans(ctx, spans, budget, blobs)
	})
	for range decoders() {
		g.Go(func() error { return rs.decodeLoop(ctx, budget, blobs) })
	}
	err := g.Wait()
	rs.log.Info("restore read the repository", "requests", rs.requests.Load(), "bytes", rs.readBytes.Load(),
		"rounds", rs.plan.rounds, "packs", len(rs.plan.read), "packs_read_again", rs.plan.reread())
	return err
}

// decoders is how many goroutines decrypt, verify and write: one per CPU,
// and two more to keep the CPUs busy while some wait on the file system.
func decoders() int { return runtime.GOMAXPROCS(0) + 2 }

// readSpans reads spans with Options.Workers readers until there are none.
func (rs *restorer) readSpans(ctx context.Context, spans <-chan span, budget *semaphore.Weighted, out chan<- batch) error {
	g, ctx := errgroup.WithContext(ctx)
	for range rs.opts.Workers {
		g.Go(func() error {
			s := &sender{ctx: ctx, rs: rs, out: out, budget: budget}
			for sp := range spans {
				if err := rs.readSpan(ctx, sp, s); err != nil {
					s.abandon()
					return err
				}
			}
			return nil
		})
	}
	return g.Wait()
}

// readSpan reads one range of a pack and hands its blobs to the decoders.
// Damage fails the blobs it reaches; any other failure stops the restore.
func (rs *restorer) readSpan(ctx context.Context, sp span, s *sender) error {
	rs.requests.Add(1)
	rs.readBytes.Add(sp.end - sp.start)
	rc, err := rs.r.OpenPackRange(ctx, sp.pack, sp.start, sp.end-sp.start)
	if errors.Is(err, backend.ErrInvalidRange) {
		err = truncated(io.EOF) // the range starts past the pack's end
	}
	if err != nil {
		return s.failRest(sp.wants, err)
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 256<<10)
	pos := sp.start
	for i := 0; i < len(sp.wants); {
		j := sameBlob(sp.wants, i)
		loc := sp.wants[i].loc
		if err := s.acquire(loc.Length); err != nil {
			return err
		}
		stored, err := rs.readBlob(br, &pos, int64(loc.Offset), int64(loc.Length))
		if err != nil {
			s.budget.Release(rs.cost(loc.Length))
			return s.failRest(sp.wants[i:], fmt.Errorf("read pack %s at %d: %w", sp.pack, loc.Offset, err))
		}
		if err := s.add(fetched{wants: sp.wants[i:j], stored: stored}); err != nil {
			return err
		}
		i = j
	}
	return s.flush()
}

// cost is what a stored blob of n bytes takes from the memory budget: the
// buffer it is read into, but never more than the whole budget.
func (rs *restorer) cost(n uint32) int64 { return min(int64(bufSize(int(n))), rs.opts.Memory) }

// sameBlob returns the end of the run of wants from i that name one blob.
func sameBlob(ws []want, i int) int {
	j := i + 1
	for j < len(ws) && ws[j].loc.Offset == ws[i].loc.Offset && ws[j].loc.ID == ws[i].loc.ID {
		j++
	}
	return j
}

// readBlob skips to off and reads n stored bytes. A pack that ends early
// is damage: io.ErrUnexpectedEOF, never io.EOF.
func (rs *restorer) readBlob(br *bufio.Reader, pos *int64, off, n int64) ([]byte, error) {
	if _, err := br.Discard(int(off - *pos)); err != nil {
		return nil, truncated(err)
	}
	stored := rs.bufs.get(int(n))
	if _, err := io.ReadFull(br, stored); err != nil {
		rs.bufs.put(stored)
		return nil, truncated(err)
	}
	*pos = off + n
	return stored, nil
}

func truncated(err error) error {
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("the pack is shorter than the index says: %w", io.ErrUnexpectedEOF)
	}
	return err
}

// sender gathers one reader's blobs into batches for the decoders.
type sender struct {
	ctx    context.Context
	rs     *restorer
	out    chan<- batch
	budget *semaphore.Weighted
	b      batch
	bytes  int
}

// acquire takes a blob's share of the memory budget. When it has to wait,
// it first hands over what it holds, so that a reader never waits for
// budget that its own unsent blobs take.
func (s *sender) acquire(n uint32) error {
	cost := s.rs.cost(n)
	if s.budget.TryAcquire(cost) {
		return nil
	}
	if err := s.flush(); err != nil {
		return err
	}
	if err := s.budget.Acquire(s.ctx, cost); err != nil {
		return context.Cause(s.ctx)
	}
	return nil
}

func (s *sender) add(f fetched) error {
	s.b = append(s.b, f)
	s.bytes += len(f.stored)
	if len(s.b) >= batchBlobs || s.bytes >= batchBytes {
		return s.flush()
	}
	return nil
}

// flush hands the batch over.
func (s *sender) flush() error {
	if len(s.b) == 0 {
		return nil
	}
	select {
	case s.out <- s.b:
		s.b, s.bytes = nil, 0
		return nil
	case <-s.ctx.Done():
		s.abandon()
		return context.Cause(s.ctx)
	}
}

// abandon gives back what the batch holds, after a failure.
func (s *sender) abandon() {
	for _, f := range s.b {
		s.rs.recycle(f, s.budget)
	}
	s.b, s.bytes = nil, 0
}

// failRest hands the blobs of a span that could not be read to the
// decoders as failed, when the cause is damage; otherwise it returns it.
func (s *sender) failRest(ws []want, err error) error {
	if !repo.IsDamage(err) {
		return unreachable(err)
	}
	for i := 0; i < len(ws); {
		j := sameBlob(ws, i)
		if err := s.add(fetched{wants: ws[i:j], err: err}); err != nil {
			return err
		}
		i = j
	}
	return s.flush()
}
