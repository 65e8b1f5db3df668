package repo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"bbvault/internal/blob"
	"bbvault/internal/chunk"
)

// StreamResult describes one saved stream.
type StreamResult struct {
	Blobs    []blob.ID // data blobs in stream order
	Size     int64     // bytes read
	NewBytes int64     // plaintext bytes of blobs the repository did not have
}

// SaveStream chunks rd and saves every chunk as a data blob. The caller's
// goroutine reads and chunks; workers hash, compress and encrypt beside it.
// Memory is bounded by the writer's in-flight limit, whatever rd's length.
func (w *Writer) SaveStream(ctx context.Context, rd io.Reader) (StreamResult, error) {
	sp := chunk.NewSplitter(rd, w.r.cfg.ChunkerPol, w.bufs)
	defer sp.Close()
	var res StreamResult
	var queue []*job
	for {
		j, err := w.nextJob(ctx, sp)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			w.await(queue, &res)
			return res, err
		}
		res.Size += int64(j.size)
		queue = append(queue, j)
		if len(queue) > w.opts.InFlight {
			if err := w.await(queue[:1], &res); err != nil {
				w.await(queue[1:], &res)
				return res, err
			}
			queue = queue[1:]
		}
	}
	return res, w.await(queue, &res)
}

// nextJob reads the next chunk and queues it for the workers.
func (w *Writer) nextJob(ctx context.Context, sp *chunk.Splitter) (*job, error) {
	select {
	case w.inflight <- struct{}{}:
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	case <-w.ctx.Done():
		return nil, w.failure()
	}
	b, err := sp.Next(w.ctx) // never waits: the in-flight slot holds a buffer
	if err != nil {
		<-w.inflight
		return nil, err
	}
	j := &job{typ: blob.Data, buf: b, size: len(b.Data), done: make(chan jobResult, 1)}
	select {
	case w.jobs <- j:
		return j, nil
	case <-ctx.Done():
		err = context.Cause(ctx)
	case <-w.ctx.Done():
		err = w.failure()
	}
	b.Release()
	<-w.inflight
	return nil, err
}

// await collects queued results in order, appending IDs to res. It waits for
// every job even after an error, so no buffer outlives the call.
func (w *Writer) await(queue []*job, res *StreamResult) error {
	var first error
	for _, j := range queue {
		r := <-j.done
		if r.err != nil && first == nil {
			first = r.err
		}
		if first == nil {
			res.Blobs = append(res.Blobs, r.id)
			if r.isNew {
				res.NewBytes += int64(j.size)
			}
		}
	}
	return first
}

// SaveBlob stores one blob (typically a tree) in the caller's goroutine and
// returns its ID; it is a no-op when the repository already has it.
func (w *Writer) SaveBlob(ctx context.Context, t blob.Type, data []byte) (blob.ID, error) {
	if err := ctx.Err(); err != nil {
		return blob.ID{}, context.Cause(ctx)
	}
	if err := w.ctx.Err(); err != nil {
		return blob.ID{}, w.failure()
	}
	id, _, err := w.save(t, data, nil)
	if err != nil {
		return id, fmt.Errorf("save %s blob: %w", t, err)
	}
	return id, nil
}

// Finish uploads the partly filled packs, waits for every upload and writes
// the index object for them. Only after Finish returns nil may a manifest
// refer to the blobs saved through this writer.
func (w *Writer) Finish(ctx context.Context) error {
	w.closeOnce.Do(func() { close(w.jobs) })
	err := w.g.Wait()
	if err == nil {
		err = w.writeIndex(ctx)
	} else {
		w.saveProgress()
	}
	w.cancel(nil)
	return err
}

// Abort stops the writer, waits for its goroutines and, best effort, lists
// the packs already uploaded in an index object so that the next run can
// reuse them (prune removes them if nothing ever does).
func (w *Writer) Abort(cause error) {
	w.cancel(cause)
	w.closeOnce.Do(func() { close(w.jobs) })
	_ = w.g.Wait()
	w.saveProgress()
}

// saveProgressTimeout bounds the index write after a failure: the run is
// ending, and the packs stay for a later prune if the write cannot finish.
const saveProgressTimeout = time.Minute

// saveProgress writes the index for uploaded packs with a context of its
// own (the writer's is cancelled by now), bounded by saveProgressTimeout.
func (w *Writer) saveProgress() {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), saveProgressTimeout)
	defer cancel()
	if err := w.writeIndex(ctx); err != nil {
		w.r.log.Warn("could not record the packs uploaded before the failure", "error", err)
	}
}
