package restorer

import (
	"context"
	"fmt"
	"os"

	"golang.org/x/sync/errgroup"

	"bbvault/internal/blob"
	"bbvault/internal/fsmeta"
	"bbvault/internal/tree"
)

// file writes one file. Damage to its data is recorded and the restore goes
// on; only cancellation or a local write failure stops the whole restore.
func (rs *restorer) file(ctx context.Context, f *os.File, n tree.Node, rel string) error {
	p := f.Name()
	err := rs.writeFile(ctx, f, n)
	if err == nil {
		err = fsmeta.Apply(p, n, rs.opts.Meta)
		if err != nil {
			return err
		}
		rs.files.Add(1)
		rs.opts.Progress.Files.Add(1)
		return nil
	}
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if isLocalWriteError(err) {
		return err
	}
	rs.log.Error("file not restored", "path", rel, "error", err)
	rs.mu.Lock()
	rs.failed = append(rs.failed, FileError{rel, err})
	rs.mu.Unlock()
	return nil
}

// localWriteError marks failures of the target filesystem (full disk,
// permissions), which stop the restore rather than skip a file.
type localWriteError struct{ err error }

func (e localWriteError) Error() string { return e.err.Error() }
func (e localWriteError) Unwrap() error { return e.err }

func isLocalWriteError(err error) bool {
	_, ok := err.(localWriteError)
	return ok
}

func (rs *restorer) writeFile(ctx context.Context, f *os.File, n tree.Node) error {
	werr := rs.writeBlobs(ctx, f, n.Content)
	if cerr := f.Close(); werr == nil && cerr != nil {
		werr = localWriteError{fmt.Errorf("close %s: %w", f.Name(), cerr)}
	}
	return werr
}

// writeBlobs fetches the file's blobs (in parallel for large files) and
// writes each at its offset.
func (rs *restorer) writeBlobs(ctx context.Context, f *os.File, ids []blob.ID) error {
	offsets, err := rs.offsets(ctx, ids)
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(rs.opts.Fetchers)
	for i, id := range ids {
		g.Go(func() error {
			data, err := rs.r.LoadBlob(gctx, id, nil)
			if err != nil {
				return err
			}
			if _, err := f.WriteAt(data, offsets[i]); err != nil {
				return localWriteError{fmt.Errorf("write %s: %w", f.Name(), err)}
			}
			rs.bytes.Add(int64(len(data)))
			rs.opts.Progress.Bytes.Add(int64(len(data)))
			return nil
		})
	}
	return g.Wait()
}

func (rs *restorer) offsets(ctx context.Context, ids []blob.ID) ([]int64, error) {
	out := make([]int64, len(ids))
	var off int64
	for i, id := range ids {
		out[i] = off
		n, err := rs.r.BlobSize(ctx, id)
		if err != nil {
			return nil, err
		}
		off += n
	}
	return out, nil
}
