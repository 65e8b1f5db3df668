package repo

import (
	"context"
	"encoding/binary"
	"fmt"

	"bbvault/internal/blob"
	"bbvault/internal/crypto"
	"bbvault/internal/index"
)

// Pack layout: blob || blob || ... || sealed header || uint32 LE header length.
// The header plaintext is: version (1 byte), then per blob:
// type (1) || ID (32) || stored length (uint32 LE) || raw length (uint32 LE).
// Offsets follow from the order: the first blob starts at 0.
const (
	packHeaderVersion = 1
	headerEntrySize   = 1 + blob.IDSize + 4 + 4
	packHeaderAD      = "pack header"
)

// packBuilder accumulates sealed blobs of one type in memory.
type packBuilder struct {
	typ   blob.Type
	buf   *packBuf
	blobs []index.BlobEntry
}

func newPackBuilder(t blob.Type, from *segments) *packBuilder {
	return &packBuilder{typ: t, buf: newPackBuf(from)}
}

// headerSize is the stored size of the header of a pack of n blobs, with
// the length that ends the pack.
func headerSize(n int) int { return 1 + n*headerEntrySize + crypto.Overhead + 4 }

// fits reports whether a blob of n stored bytes can join the pack without
// taking it past target, header included. An empty pack takes any blob.
// A pack of thousands of small files has a header of hundreds of KiB: it
// is counted, so packs keep to their size.
func (p *packBuilder) fits(n, target int) bool {
	return len(p.blobs) == 0 || p.size()+n+headerSize(len(p.blobs)+1) <= target
}

func (p *packBuilder) add(id blob.ID, stored []byte, rawLen int) {
	p.blobs = append(p.blobs, index.BlobEntry{ID: id, Type: p.typ,
		Offset: uint32(p.buf.Len()), Length: uint32(len(stored)), RawLength: uint32(rawLen)})
	p.buf.Write(stored)
}

func (p *packBuilder) size() int { return p.buf.Len() }

// finish seals the header onto the pack and returns a reader of its bytes
// and its entry.
func (p *packBuilder) finish(c *codec) (*packReader, index.Pack, error) {
	hdr := make([]byte, 1, 1+len(p.blobs)*headerEntrySize)
	hdr[0] = packHeaderVersion
	for _, b := range p.blobs {
		hdr = append(hdr, byte(b.Type))
		hdr = append(hdr, b.ID[:]...)
		hdr = binary.LittleEndian.AppendUint32(hdr, b.Length)
		hdr = binary.LittleEndian.AppendUint32(hdr, b.RawLength)
	}
	sealed, err := c.key.Seal(nil, hdr, []byte(packHeaderAD))
	if err != nil {
		return nil, index.Pack{}, err
	}
	p.buf.Write(sealed)
	var l [4]byte
	binary.LittleEndian.PutUint32(l[:], uint32(len(sealed)))
	p.buf.Write(l[:])
	id, err := randomID()
	if err != nil {
		return nil, index.Pack{}, err
	}
	return p.buf.reader(), index.Pack{ID: id, Size: int64(p.buf.Len()), Type: p.typ, Blobs: p.blobs}, nil
}

// ReadHeader reads and decodes the header of the pack with the given ID,
// for check and index rebuild. size is the pack object's size. A header
// that does not open or decode is an error Classify calls Damaged.
func (ps *Packs) ReadHeader(ctx context.Context, id blob.ID, size int64) ([]index.BlobEntry, error) {
	r := ps.r
	name := packName(id)
	if size < 4+28 {
		return nil, fmt.Errorf("pack %s: %d bytes is too short to hold a header: %w", id.Short(), size, ErrCorrupt)
	}
	tail, err := r.readRange(ctx, name, size-4, 4)
	if err != nil {
		return nil, err
	}
	hlen := int64(binary.LittleEndian.Uint32(tail))
	if hlen+4 > size {
		return nil, fmt.Errorf("pack %s: header length %d exceeds the pack size %d: %w", id.Short(), hlen, size, ErrCorrupt)
	}
	sealed, err := r.readRange(ctx, name, size-4-hlen, hlen)
	if err != nil {
		return nil, err
	}
	hdr, err := r.key.Open(nil, sealed, []byte(packHeaderAD))
	if err != nil {
		return nil, fmt.Errorf("pack %s: header: %w", id.Short(), err)
	}
	return decodePackHeader(id, hdr, size-4-hlen)
}

func decodePackHeader(id blob.ID, hdr []byte, dataEnd int64) ([]index.BlobEntry, error) {
	if len(hdr) < 1 || hdr[0] != packHeaderVersion || (len(hdr)-1)%headerEntrySize != 0 {
		return nil, fmt.Errorf("pack %s: malformed header: %w", id.Short(), ErrCorrupt)
	}
	var out []index.BlobEntry
	var off int64
	for p := hdr[1:]; len(p) > 0; p = p[headerEntrySize:] {
		e := index.BlobEntry{Type: blob.Type(p[0]), Offset: uint32(off)}
		copy(e.ID[:], p[1:1+blob.IDSize])
		e.Length = binary.LittleEndian.Uint32(p[1+blob.IDSize:])
		e.RawLength = binary.LittleEndian.Uint32(p[5+blob.IDSize:])
		off += int64(e.Length)
		out = append(out, e)
	}
	if off != dataEnd {
		return nil, fmt.Errorf("pack %s: header lists %d bytes of blobs, the pack holds %d: %w", id.Short(), off, dataEnd, ErrCorrupt)
	}
	return out, nil
}

func (r *Repository) readRange(ctx context.Context, name string, off, n int64) ([]byte, error) {
	rc, err := r.be.Get(ctx, name, off, n)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	defer rc.Close()
	buf := make([]byte, n)
	if _, err := readFull(rc, buf); err != nil {
		return nil, fmt.Errorf("read %s at %d: %w", name, off, err)
	}
	return buf, nil
}

// release gives the pack's segments back for the next packs.
func (p *packBuilder) release() {
	if p.buf != nil {
		p.buf.release()
		p.buf = nil
	}
}
