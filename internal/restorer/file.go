package restorer

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"

	"golang.org/x/sync/errgroup"

	"bbvault/internal/fsmeta"
	"bbvault/internal/index"
)

// localWriteError marks failures of the target filesystem (full disk,
// permissions), which stop the restore rather than skip a file.
type localWriteError struct{ err error }

func (e localWriteError) Error() string { return e.err.Error() }
func (e localWriteError) Unwrap() error { return e.err }

// fill reads the planned spans with several workers and writes every blob
// where it belongs. Damaged blobs fail their files only.
func (rs *restorer) fill(ctx context.Context, p *plan) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(rs.opts.Workers)
	for _, sp := range p.spans() {
		g.Go(func() error { return rs.readSpan(ctx, sp) })
	}
	return g.Wait()
}

// readSpan reads one range of a pack and writes the blobs in it.
func (rs *restorer) readSpan(ctx context.Context, sp span) error {
	rc, err := rs.r.OpenPackRange(ctx, sp.pack, sp.start, sp.end-sp.start)
	if err != nil {
		return err
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 1<<20)
	pos := sp.start
	var stored, plain []byte
	for i := 0; i < len(sp.wants); {
		loc := sp.wants[i].loc
		j := i
		for j < len(sp.wants) && sp.wants[j].loc.ID == loc.ID && sp.wants[j].loc.Offset == loc.Offset {
			j++
		}
		if _, err := br.Discard(int(int64(loc.Offset) - pos)); err != nil {
			return fmt.Errorf("read pack %s: %w", sp.pack, err)
		}
		stored = grow(stored, int(loc.Length))
		if _, err := io.ReadFull(br, stored); err != nil {
			return fmt.Errorf("read pack %s at %d: %w", sp.pack, loc.Offset, err)
		}
		pos = int64(loc.Offset) + int64(loc.Length)
		var blobErr error
		plain, blobErr = rs.decode(ctx, loc, stored, plain[:0])
		if err := rs.deliver(sp.wants[i:j], plain, blobErr); err != nil {
			return err
		}
		i = j
	}
	return nil
}

func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}

// decode verifies a blob; a damaged copy falls back to any other copy.
func (rs *restorer) decode(ctx context.Context, loc index.Location, stored, dst []byte) ([]byte, error) {
	out, err := rs.r.DecodeBlob(loc, stored, dst)
	if err == nil {
		return out, nil
	}
	if alt, aerr := rs.r.LoadBlob(ctx, loc.ID, dst); aerr == nil {
		return alt, nil
	}
	return nil, err
}

// deliver writes one blob to every file that wants it; a blob error marks
// those files as failed.
func (rs *restorer) deliver(ws []want, data []byte, blobErr error) error {
	for _, w := range ws {
		if blobErr != nil {
			rs.fail(w.file, blobErr)
		} else if err := rs.writeAt(w.file, data, w.offset); err != nil {
			return err
		}
		if w.file.remaining.Add(-1) == 0 {
			if err := rs.finishFile(w.file); err != nil {
				return err
			}
		}
	}
	return nil
}

func (rs *restorer) writeAt(t *target, data []byte, off int64) error {
	if t.failed.Load() {
		return nil
	}
	f, err := os.OpenFile(t.path, os.O_WRONLY, 0)
	if err == nil {
		_, err = f.WriteAt(data, off)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return localWriteError{fmt.Errorf("write %s: %w", t.path, err)}
	}
	rs.bytes.Add(int64(len(data)))
	rs.opts.Progress.Bytes.Add(int64(len(data)))
	return nil
}

// finishFile applies a complete file's metadata.
func (rs *restorer) finishFile(t *target) error {
	if t.failed.Load() {
		return nil
	}
	if err := fsmeta.Apply(t.path, t.node, rs.opts.Meta); err != nil {
		return localWriteError{err}
	}
	rs.files.Add(1)
	rs.opts.Progress.Files.Add(1)
	return nil
}

// fail records a file whose data is damaged; the restore goes on.
func (rs *restorer) fail(t *target, err error) {
	if t.failed.Swap(true) {
		return
	}
	rs.log.Error("file not restored", "path", t.rel, "error", err)
	rs.mu.Lock()
	rs.failed = append(rs.failed, FileError{t.rel, err})
	rs.mu.Unlock()
}
