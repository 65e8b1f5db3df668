package repo

import (
	"errors"
	"fmt"
	"io"
)

// readFull is io.ReadFull that names a truncated object as such.
func readFull(r io.Reader, buf []byte) (int, error) {
	n, err := io.ReadFull(r, buf)
	if errors.Is(err, io.ErrUnexpectedEOF) || (errors.Is(err, io.EOF) && len(buf) > 0) {
		return n, fmt.Errorf("object is truncated: got %d of %d bytes: %w", n, len(buf), io.ErrUnexpectedEOF)
	}
	return n, err
}
