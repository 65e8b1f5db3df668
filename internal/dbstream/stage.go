package dbstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
)

// stageBufSize is the copy buffer for staging; ctx is checked between
// buffers.
const stageBufSize = 1 << 20

// stageDump writes r to a new temporary file (mode 0600: a dump holds
// password hashes) in dir, for pg_restore --jobs, which needs to seek. The
// cleanup function removes the file.
func stageDump(ctx context.Context, r io.Reader, dir string, logger *slog.Logger) (path string, cleanup func(), err error) {
	f, err := os.CreateTemp(dir, "bbvault-restore-*.dump")
	if err != nil {
		return "", nil, fmt.Errorf("creating the staging file for a parallel restore (set a temp dir with room for the dump): %w", err)
	}
	cleanup = func() {
		if err := os.Remove(f.Name()); err != nil {
			logger.Warn("removing the restore staging file", "path", f.Name(), "err", err)
		}
	}
	n, err := copyCtx(ctx, f, r)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		cleanup()
		return "", nil, fmt.Errorf("staging the dump in %s for a parallel restore: %w", f.Name(), err)
	}
	logger.Info("staged the dump for a parallel restore", "path", f.Name(), "bytes", n)
	return f.Name(), cleanup, nil
}

// copyCtx copies r to w until EOF, stopping when ctx is cancelled.
func copyCtx(ctx context.Context, w io.Writer, r io.Reader) (int64, error) {
	buf := make([]byte, stageBufSize)
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				return total, err
			}
			total += int64(n)
		}
		switch {
		case errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF):
			return total, nil
		case rerr != nil:
			return total, fmt.Errorf("reading the dump stream: %w", rerr)
		}
	}
}
