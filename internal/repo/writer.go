package repo

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"bbvault/internal/blob"
	"bbvault/internal/chunk"
	"bbvault/internal/index"
)

// WriterOptions tune a Writer. Zero values pick defaults.
type WriterOptions struct {
	Workers    int // hash/compress/encrypt workers; default GOMAXPROCS
	Uploaders  int // concurrent pack uploads; default 2
	InFlight   int // chunks held in memory at once; default Workers+1
	IndexEvery int // write an index object every this many packs; default 32
}

func (o WriterOptions) withDefaults() WriterOptions {
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.Uploaders <= 0 {
		o.Uploaders = 2
	}
	if o.InFlight <= 0 {
		// Each chunk in flight holds a buffer (resident: what it wrote,
		// chunk.BufferCap between chunks): one for each worker and one
		// being read keep the workers busy, and no more.
		o.InFlight = o.Workers + 1
	}
	if o.IndexEvery <= 0 {
		o.IndexEvery = 32
	}
	return o
}

// WriterStats counts what a Writer stored.
type WriterStats struct {
	Blobs       int64 // blobs saved (new or not)
	NewBlobs    int64 // blobs that were not in the repository
	RawBytes    int64 // plaintext bytes seen
	NewRawBytes int64 // plaintext bytes of new blobs
	StoredBytes int64 // bytes of new blobs as stored (compressed, encrypted)
	Packs       int64 // packs uploaded
}

// Writer saves blobs into new packs. It owns worker and uploader goroutines
// from NewWriter until Finish or Abort. All methods are safe for concurrent use.
type Writer struct {
	r      *Repository
	opts   WriterOptions
	ctx    context.Context
	cancel context.CancelCauseFunc
	g      *errgroup.Group

	jobs      chan *job
	closeOnce sync.Once
	uploads   chan *packBuilder
	inflight  chan struct{}
	bufs      *chunk.Buffers

	mu        sync.Mutex
	open      map[blob.Type]*packBuilder
	packSlots chan struct{} // one per data pack filling or uploading: Uploaders+1
	segs      segments      // the memory of packs, recycled

	knownOnce sync.Once
	known     *index.ClaimSet
	knownErr  error
	again     reclaimed // suspect blobs this writer stored again

	idxMu         sync.Mutex
	unlisted      []index.Pack
	unlistedBlobs int

	// queued counts packs handed to the uploaders and not yet indexed.
	queued sync.WaitGroup

	stats struct{ blobs, newBlobs, raw, newRaw, stored, packs atomic.Int64 }
}

type job struct {
	typ  blob.Type
	buf  *chunk.Buffer
	size int
	done chan jobResult
}

type jobResult struct {
	id    blob.ID
	isNew bool
	err   error
}

// NewWriter starts a writer. Its goroutines stop when ctx is cancelled, when
// one of them fails, or at Finish/Abort.
func (r *Repository) NewWriter(ctx context.Context, opts WriterOptions) *Writer {
	opts = opts.withDefaults()
	w := &Writer{r: r, opts: opts,
		jobs:      make(chan *job, opts.Workers),
		uploads:   make(chan *packBuilder),
		inflight:  make(chan struct{}, opts.InFlight),
		bufs:      chunk.NewBuffers(opts.InFlight),
		packSlots: make(chan struct{}, opts.Uploaders+1),
		open:      map[blob.Type]*packBuilder{},
	}
	w.ctx, w.cancel = context.WithCancelCause(ctx)
	w.g, w.ctx = errgroup.WithContext(w.ctx)
	var workers sync.WaitGroup
	for range opts.Workers {
		workers.Add(1)
		w.g.Go(func() error { defer workers.Done(); return w.work() })
	}
	for range opts.Uploaders {
		w.g.Go(w.upload)
	}
	w.g.Go(func() error { workers.Wait(); return w.flushOpenPacks() })
	return w
}

// work hashes, dedups, compresses and encrypts chunks until jobs is closed.
// It answers every job, even after a failure, so callers never hang; the
// first failure cancels the writer at once.
func (w *Writer) work() error {
	var first error
	for j := range w.jobs {
		res := w.process(j)
		j.buf.Release()
		<-w.inflight
		j.done <- res
		if res.err != nil && first == nil {
			first = res.err
			w.cancel(res.err)
		}
	}
	return first
}

// process saves a chunk, sealing it into the spare room of its own buffer
// (a chunk buffer has room for the largest chunk and its sealed copy).
func (w *Writer) process(j *job) jobResult {
	if err := w.ctx.Err(); err != nil {
		return jobResult{err: w.failure()}
	}
	data := j.buf.Data
	id, isNew, err := w.save(j.typ, data, data[len(data):len(data):cap(data)])
	return jobResult{id: id, isNew: isNew, err: err}
}

// save stores one blob unless the repository (or this writer) has it,
// sealing it into spare (grown if too small) and copying it into a pack.
// spare must not overlap data.
func (w *Writer) save(t blob.Type, data, spare []byte) (blob.ID, bool, error) {
	id := w.r.key.ID(data)
	w.stats.blobs.Add(1)
	w.stats.raw.Add(int64(len(data)))
	claimed, err := w.claim(id)
	if err != nil || !claimed {
		return id, false, err
	}
	stored, err := w.r.codec.seal(spare[:0], data, id[:])
	if err != nil {
		return id, false, err
	}
	w.stats.newBlobs.Add(1)
	w.stats.newRaw.Add(int64(len(data)))
	w.stats.stored.Add(int64(len(stored)))
	return id, true, w.addToPack(t, id, stored, len(data))
}

// claim reports whether the caller must store id: neither the repository
// nor another worker of this writer has it, or the repository has it only
// in copies recorded bad (see suspect.go). The repository's blob IDs are
// loaded into memory once (an SQL query per chunk costs 100 times more),
// as fingerprints of 8.5 bytes a blob (index.ClaimSet).
func (w *Writer) claim(id blob.ID) (bool, error) {
	known, err := w.knownSet()
	if err != nil {
		return false, err
	}
	if w.r.damage().suspect(id) {
		return w.again.claim(id), nil
	}
	return known.Claim(id), nil
}

// knownSet loads the set of blobs the repository holds, once; blobs this
// writer stores are added to it as they are claimed, and handed back to
// it once indexed (settle). First it checks that the packs the index lists
// are all there (checkPackObjects).
func (w *Writer) knownSet() (*index.ClaimSet, error) {
	w.knownOnce.Do(func() {
		if err := w.r.checkPackObjects(w.ctx); err != nil && w.ctx.Err() == nil {
			w.r.log.Warn("could not compare the index with the packs; deduplicating against the index as it is", "error", err)
		}
		w.known, w.knownErr = w.r.idx.ClaimSet(w.ctx)
		if w.knownErr != nil {
			w.knownErr = fmt.Errorf("load the index: %w", w.knownErr)
		}
	})
	return w.known, w.knownErr
}

// Has reports whether the repository or this writer (in a pack not yet
// uploaded) holds the blob in a copy not recorded bad. A manifest written
// after Finish may name it.
func (w *Writer) Has(ctx context.Context, id blob.ID) (bool, error) {
	known, err := w.knownSet()
	if err != nil {
		return false, err
	}
	if w.r.damage().suspect(id) {
		return w.again.has(id), nil
	}
	return known.Has(id), nil
}

// addToPack appends a sealed blob to the open pack of its type and hands the
// pack to an uploader once it reaches the target size.
// A pack is closed before a blob would take it past the target size, header
// included.
func (w *Writer) addToPack(t blob.Type, id blob.ID, stored []byte, rawLen int) error {
	w.mu.Lock()
	var full *packBuilder
	p := w.open[t]
	if p != nil && !p.fits(len(stored), w.packTarget(t)) {
		full, p = p, nil
		delete(w.open, t)
	}
	if p == nil {
		var err error
		if p, err = w.newPack(t); err != nil {
			w.mu.Unlock()
			return errors.Join(err, w.queueFull(full))
		}
		w.open[t] = p
	}
	p.add(id, stored, rawLen)
	w.mu.Unlock()
	return w.queueFull(full)
}

func (w *Writer) queueFull(p *packBuilder) error {
	if p == nil {
		return nil
	}
	return w.queue(p)
}

// treePackTarget caps tree packs below the repository's pack size:
// restores and snapshots with a parent load tree packs whole.
const treePackTarget = 4 << 20

// packTarget is the size at which a pack of type t is closed.
func (w *Writer) packTarget(t blob.Type) int {
	if t == blob.Tree {
		return min(w.r.cfg.PackSize, treePackTarget)
	}
	return w.r.cfg.PackSize
}

// newPack starts a pack. A data pack takes one of the Uploaders+1 slots
// (waiting for one if need be): data packs are what the writer holds most
// of, one filling and one per uploader, and bounding them by number bounds
// them by bytes, each being at most a pack. A worker that needs a new data
// pack while all are busy waits for an upload to end, as it would wait to
// hand its full pack over. A tree pack, small as a rule, needs no slot.
func (w *Writer) newPack(t blob.Type) (*packBuilder, error) {
	if t != blob.Data {
		return newPackBuilder(t, &w.segs), nil
	}
	select {
	case w.packSlots <- struct{}{}:
		return newPackBuilder(t, &w.segs), nil
	case <-w.ctx.Done():
		return nil, w.failure()
	}
}

// recycle gives an uploaded pack's memory to the next packs, and its slot
// if it is a data pack.
func (w *Writer) recycle(p *packBuilder) {
	if p.buf == nil {
		return
	}
	p.release()
	if p.typ == blob.Data {
		<-w.packSlots // never blocks: the pack holds a slot
	}
}

// queue hands a finished pack to the uploaders.
func (w *Writer) queue(p *packBuilder) error {
	w.queued.Add(1)
	select {
	case w.uploads <- p:
		return nil
	case <-w.ctx.Done():
		w.queued.Done()
		return w.failure()
	}
}

// Flush uploads the partly filled packs and indexes everything uploaded so
// far, so that blobs saved until now can be loaded back. The writer stays
// usable. Call it while no SaveStream or SaveBlob is running: between the
// pre-lock and the locked pass of a snapshot.
func (w *Writer) Flush(ctx context.Context) error {
	if err := w.queueOpenPacks(); err != nil {
		return err
	}
	w.queued.Wait()
	if err := w.ctx.Err(); err != nil {
		return w.failure()
	}
	return w.writeIndex(ctx)
}

// flushOpenPacks sends the partly filled packs to the uploaders once every
// worker has stopped, then closes the upload queue.
func (w *Writer) flushOpenPacks() error {
	defer close(w.uploads)
	return w.queueOpenPacks()
}

// queueOpenPacks hands every partly filled pack to the uploaders.
func (w *Writer) queueOpenPacks() error {
	w.mu.Lock()
	packs := make([]*packBuilder, 0, len(w.open))
	for t, p := range w.open {
		packs = append(packs, p)
		delete(w.open, t)
	}
	w.mu.Unlock()
	for _, p := range packs {
		if err := w.queue(p); err != nil {
			return err
		}
	}
	return nil
}

// upload writes finished packs to the backend.
func (w *Writer) upload() error {
	for p := range w.uploads {
		if err := w.uploadPack(p); err != nil {
			return err
		}
	}
	return nil
}

func (w *Writer) uploadPack(p *packBuilder) error {
	defer w.queued.Done()
	data, pack, err := p.finish(w.r.codec)
	if err != nil {
		w.recycle(p)
		return err
	}
	err = w.r.be.Put(w.ctx, packName(pack.ID), data, pack.Size)
	w.recycle(p)
	if err != nil {
		return fmt.Errorf("upload pack %s: %w", pack.ID.Short(), err)
	}
	w.stats.packs.Add(1)
	return w.packDone(pack)
}

// packDone queues an uploaded pack for the next index object.
func (w *Writer) packDone(p index.Pack) error {
	w.idxMu.Lock()
	defer w.idxMu.Unlock()
	w.unlisted = append(w.unlisted, p)
	w.unlistedBlobs += len(p.Blobs)
	if len(w.unlisted) < w.opts.IndexEvery && w.unlistedBlobs < maxIndexBlobs {
		return nil
	}
	return w.writeIndexLocked(w.ctx)
}

// maxIndexBlobs keeps index objects small: a home of small files puts
// thousands of blobs in each pack, and one index object for all of them
// would be a large document to encode in memory at the end.
const maxIndexBlobs = 20000

// failure returns why the writer stopped.
func (w *Writer) failure() error {
	if err := context.Cause(w.ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return fmt.Errorf("writer stopped: %w", context.Cause(w.ctx))
}

// Stats returns the counters so far.
func (w *Writer) Stats() WriterStats {
	return WriterStats{Blobs: w.stats.blobs.Load(), NewBlobs: w.stats.newBlobs.Load(),
		RawBytes: w.stats.raw.Load(), NewRawBytes: w.stats.newRaw.Load(),
		StoredBytes: w.stats.stored.Load(), Packs: w.stats.packs.Load()}
}
