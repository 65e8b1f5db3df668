package repo

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"

	"bbvault/internal/backend"
	"bbvault/internal/blob"
	"bbvault/internal/index"
)

// PackDamage is what Verify found wrong with one pack. The zero value
// (besides Pack) means the pack is intact.
type PackDamage struct {
	Pack    blob.ID
	Missing bool  // the pack object does not exist
	Header  error // the header is unreadable or disagrees with the index
	// Blobs maps each blob that did not verify to the reason.
	Blobs map[blob.ID]error
	// BytesRead counts the bytes downloaded.
	BytesRead int64
}

// OK reports whether the pack verified.
func (d PackDamage) OK() bool { return !d.Missing && d.Header == nil && len(d.Blobs) == 0 }

// Verify downloads pack p once, front to back, and checks it against its
// index entry: every listed blob must decrypt and hash to its ID, and the
// header must list exactly the index's blobs. Damage is reported in the
// result; the error is for failures that say nothing about the pack (the
// backend unreachable, the context cancelled). Memory is one blob at a time.
func (ps *Packs) Verify(ctx context.Context, p index.Pack) (PackDamage, error) {
	r := ps.r
	d := PackDamage{Pack: p.ID, Blobs: map[blob.ID]error{}}
	rc, err := r.be.Get(ctx, packName(p.ID), 0, 0)
	if backend.IsNotFound(err) {
		d.Missing = true
		return d, nil
	}
	if err != nil {
		return d, fmt.Errorf("read pack %s: %w", p.ID.Short(), err)
	}
	defer rc.Close()
	cr := &countingReader{r: rc}
	br := bufio.NewReaderSize(cr, 1<<20)
	pos, err := r.verifyBlobs(br, p, &d)
	if err == nil {
		err = r.verifyTail(br, p, pos, &d)
	}
	d.BytesRead = cr.n
	if err != nil && (ctx.Err() != nil || !isTruncation(err)) {
		return d, fmt.Errorf("read pack %s: %w", p.ID.Short(), err)
	}
	if err != nil {
		d.Header = fmt.Errorf("pack %s: %w", p.ID.Short(), err)
	}
	return d, nil
}

// verifyBlobs reads the listed blobs in offset order and returns the offset
// reached. A blob the pack is too short to hold ends the reading.
func (r *Repository) verifyBlobs(br *bufio.Reader, p index.Pack, d *PackDamage) (int64, error) {
	entries := append([]index.BlobEntry(nil), p.Blobs...)
	sort.Slice(entries, func(i, j int) bool { return entries[i].Offset < entries[j].Offset })
	var pos int64
	var stored, plain []byte
	for i, e := range entries {
		if int64(e.Offset) < pos {
			d.Blobs[e.ID] = fmt.Errorf("index places blob %s at offset %d, inside the previous blob", e.ID.Short(), e.Offset)
			continue
		}
		_, err := br.Discard(int(int64(e.Offset) - pos))
		if err == nil {
			stored = grow(stored, int(e.Length))
			_, err = readFull(br, stored)
		}
		if err != nil {
			err = truncated(err)
			for _, lost := range entries[i:] {
				d.Blobs[lost.ID] = fmt.Errorf("blob %s: %w", lost.ID.Short(), err)
			}
			return pos, err
		}
		pos = int64(e.Offset) + int64(e.Length)
		var oerr error
		plain, oerr = r.openBlob(index.Location{Pack: p.ID, BlobEntry: e}, stored, plain[:0])
		if oerr != nil {
			d.Blobs[e.ID] = oerr
		}
	}
	return pos, nil
}

// verifyTail reads the rest of the pack (the header and its length) and
// compares the header with the index.
func (r *Repository) verifyTail(br *bufio.Reader, p index.Pack, pos int64, d *PackDamage) error {
	rest, err := io.ReadAll(br)
	if err != nil {
		return err
	}
	size := pos + int64(len(rest))
	if size != p.Size {
		d.Header = fmt.Errorf("pack %s is %d bytes, the index says %d", p.ID.Short(), size, p.Size)
		return nil
	}
	if len(rest) < 4 {
		d.Header = fmt.Errorf("pack %s ends before its header length", p.ID.Short())
		return nil
	}
	hlen := int64(binary.LittleEndian.Uint32(rest[len(rest)-4:]))
	if hlen+4 > int64(len(rest)) {
		d.Header = fmt.Errorf("pack %s: header length %d does not fit after the blobs", p.ID.Short(), hlen)
		return nil
	}
	sealed := rest[int64(len(rest))-4-hlen : len(rest)-4]
	hdr, err := r.key.Open(nil, sealed, []byte(packHeaderAD))
	if err != nil {
		d.Header = fmt.Errorf("pack %s: header: %w", p.ID.Short(), err)
		return nil
	}
	entries, err := decodePackHeader(p.ID, hdr, size-4-hlen)
	if err == nil {
		err = CompareHeader(p, entries)
	}
	d.Header = err
	return nil
}

// CompareHeader checks that a pack's header lists exactly the blobs its
// index entry does, at the same places. A difference wraps ErrCorrupt.
func CompareHeader(p index.Pack, header []index.BlobEntry) error {
	want := make(map[index.BlobEntry]struct{}, len(p.Blobs))
	for _, b := range p.Blobs {
		b.Type = p.Type
		want[b] = struct{}{}
	}
	for _, h := range header {
		if _, ok := want[h]; !ok {
			return fmt.Errorf("pack %s: header lists %s blob %s at offset %d (%d bytes), the index does not: %w",
				p.ID.Short(), h.Type, h.ID.Short(), h.Offset, h.Length, ErrCorrupt)
		}
		delete(want, h)
	}
	for b := range want {
		return fmt.Errorf("pack %s: index lists blob %s at offset %d, the header does not: %w", p.ID.Short(), b.ID.Short(), b.Offset, ErrCorrupt)
	}
	return nil
}

func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}

// truncated turns the end of the object into the error readFull gives.
func truncated(err error) error {
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("object is truncated: %w", io.ErrUnexpectedEOF)
	}
	return err
}

// isTruncation reports whether err says an object is shorter than the
// index says: a read that ended early, or one that started past the end.
func isTruncation(err error) bool {
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, backend.ErrInvalidRange)
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
