package tree

import (
	"encoding/binary"
	"fmt"
	"math"

	"bbvault/internal/blob"
)

// minNodeSize is the fewest bytes one encoded node can take (a file with a
// one-byte name, empty owner names, small numbers and no content). Counts
// that could not fit in the remaining bytes are rejected before allocating.
const minNodeSize = 15

// Decode parses a tree blob written by Encode. It is strict: any deviation
// from the canonical encoding is an error wrapping ErrInvalid.
func Decode(b []byte) (Tree, error) {
	d := &decoder{b: b}
	if len(b) == 0 {
		return Tree{}, fmt.Errorf("%w: empty blob", ErrInvalid)
	}
	if b[0] != Version {
		return Tree{}, fmt.Errorf("%w: unsupported version %d (this build reads version %d)", ErrInvalid, b[0], Version)
	}
	d.off = 1
	count := d.count("node count", minNodeSize)
	t := Tree{Nodes: make([]Node, 0, count)}
	for i := 0; i < count && d.err == nil; i++ {
		n := d.node()
		if d.err != nil {
			break
		}
		if err := n.validate(); err != nil {
			return Tree{}, err
		}
		if i > 0 && n.Name <= t.Nodes[i-1].Name {
			return Tree{}, fmt.Errorf("%w: node %q is out of order or duplicated", ErrInvalid, n.Name)
		}
		t.Nodes = append(t.Nodes, n)
	}
	if d.err != nil {
		return Tree{}, d.err
	}
	if d.off != len(b) {
		return Tree{}, fmt.Errorf("%w: %d trailing bytes after the last node", ErrInvalid, len(b)-d.off)
	}
	return t, nil
}

// decoder reads the primitive forms; the first error sticks and later reads
// return zero values.
type decoder struct {
	b   []byte
	off int
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s at offset %d", ErrInvalid, fmt.Sprintf(format, args...), d.off)
	}
}

func (d *decoder) node() Node {
	var n Node
	n.Name = d.string("name")
	n.Kind = Kind(d.byte("kind"))
	n.Mode = uint32(d.uvarintMax("mode", uint64(ModeMask)))
	n.UID = uint32(d.uvarintMax("uid", math.MaxUint32))
	n.GID = uint32(d.uvarintMax("gid", math.MaxUint32))
	n.User = d.string("user")
	n.Group = d.string("group")
	n.Size = int64(d.uvarintMax("size", math.MaxInt64))
	n.MTime = d.varint("mtime")
	n.CTime = d.varint("ctime")
	n.Inode = d.uvarint("inode")
	n.Dev = d.uvarint("dev")
	n.Nlink = uint32(d.uvarintMax("nlink", math.MaxUint32))
	d.payload(&n)
	return n
}

func (d *decoder) payload(n *Node) {
	switch n.Kind {
	case File:
		count := d.count("content count", blob.IDSize)
		if count > 0 {
			n.Content = make([]blob.ID, count)
		}
		for i := range n.Content {
			n.Content[i] = d.id("content id")
		}
	case Dir:
		n.Subtree = d.id("subtree id")
	case Symlink:
		n.LinkTarget = d.string("link target")
	default:
		d.fail("unknown kind %d", uint8(n.Kind))
	}
}

func (d *decoder) byte(field string) byte {
	if d.err != nil {
		return 0
	}
	if d.off >= len(d.b) {
		d.fail("truncated %s", field)
		return 0
	}
	c := d.b[d.off]
	d.off++
	return c
}

func (d *decoder) uvarint(field string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	switch {
	case n == 0:
		d.fail("truncated %s", field)
		return 0
	case n < 0:
		d.fail("%s overflows 64 bits", field)
		return 0
	case n > 1 && d.b[d.off+n-1] == 0:
		d.fail("%s is not in shortest form", field)
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) uvarintMax(field string, max uint64) uint64 {
	v := d.uvarint(field)
	if v > max {
		d.fail("%s %d is larger than %d", field, v, max)
		return 0
	}
	return v
}

func (d *decoder) varint(field string) int64 {
	u := d.uvarint(field)
	v := int64(u >> 1)
	if u&1 != 0 {
		v = ^v
	}
	return v
}

// count reads a length that announces items of at least unit bytes each and
// rejects it when they cannot fit in what is left of the blob.
func (d *decoder) count(field string, unit int) int {
	v := d.uvarint(field)
	if v > uint64(len(d.b)-d.off)/uint64(unit) {
		d.fail("%s %d does not fit in the remaining %d bytes", field, v, len(d.b)-d.off)
		return 0
	}
	return int(v)
}

func (d *decoder) string(field string) string {
	n := d.count(field+" length", 1)
	if d.err != nil {
		return ""
	}
	s := string(d.b[d.off : d.off+n])
	d.off += n
	return s
}

func (d *decoder) id(field string) blob.ID {
	var id blob.ID
	if d.err != nil {
		return id
	}
	if len(d.b)-d.off < blob.IDSize {
		d.fail("truncated %s", field)
		return id
	}
	copy(id[:], d.b[d.off:])
	d.off += blob.IDSize
	return id
}
