package tree

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
)

// Version is the encoding version written as the first byte of a tree blob.
const Version byte = 1

// Encode returns the canonical encoding of t (see the package documentation).
// The nodes are sorted by name first (t itself is not modified). It fails,
// wrapping ErrInvalid, on a duplicate or invalid name or a node whose fields
// do not fit its kind.
func Encode(t Tree) ([]byte, error) {
	nodes := slices.Clone(t.Nodes)
	slices.SortFunc(nodes, func(a, b Node) int { return strings.Compare(a.Name, b.Name) })
	buf := make([]byte, 0, encodedSizeHint(nodes))
	buf = append(buf, Version)
	buf = binary.AppendUvarint(buf, uint64(len(nodes)))
	for i := range nodes {
		if err := nodes[i].validate(); err != nil {
			return nil, err
		}
		if i > 0 && nodes[i].Name == nodes[i-1].Name {
			return nil, fmt.Errorf("%w: duplicate name %q", ErrInvalid, nodes[i].Name)
		}
		buf = appendNode(buf, &nodes[i])
	}
	return buf, nil
}

func encodedSizeHint(nodes []Node) int {
	size := 1 + binary.MaxVarintLen64
	for i := range nodes {
		n := &nodes[i]
		size += 80 + len(n.Name) + len(n.User) + len(n.Group) + len(n.LinkTarget) + 32*len(n.Content)
	}
	return size
}

func appendNode(buf []byte, n *Node) []byte {
	buf = appendString(buf, n.Name)
	buf = append(buf, byte(n.Kind))
	buf = binary.AppendUvarint(buf, uint64(n.Mode))
	buf = binary.AppendUvarint(buf, uint64(n.UID))
	buf = binary.AppendUvarint(buf, uint64(n.GID))
	buf = appendString(buf, n.User)
	buf = appendString(buf, n.Group)
	buf = binary.AppendUvarint(buf, uint64(n.Size))
	buf = binary.AppendVarint(buf, n.MTime)
	buf = binary.AppendVarint(buf, n.CTime)
	buf = binary.AppendUvarint(buf, n.Inode)
	buf = binary.AppendUvarint(buf, n.Dev)
	buf = binary.AppendUvarint(buf, uint64(n.Nlink))
	switch n.Kind {
	case File:
		buf = binary.AppendUvarint(buf, uint64(len(n.Content)))
		for _, id := range n.Content {
			buf = append(buf, id[:]...)
		}
	case Dir:
		buf = append(buf, n.Subtree[:]...)
	case Symlink:
		buf = appendString(buf, n.LinkTarget)
	}
	return buf
}

func appendString(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}
