package tree

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"bbvault/internal/blob"
)

// Kind says what a Node is. Only these three kinds are ever stored.
type Kind uint8

const (
	// File is a regular file; its data is in Node.Content.
	File Kind = 1
	// Dir is a directory; its listing is the tree blob Node.Subtree.
	Dir Kind = 2
	// Symlink is a symbolic link; its target is Node.LinkTarget.
	Symlink Kind = 3
)

func (k Kind) String() string {
	switch k {
	case File:
		return "file"
	case Dir:
		return "dir"
	case Symlink:
		return "symlink"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

func (k Kind) valid() bool { return k == File || k == Dir || k == Symlink }

// Permission bits as stored in Node.Mode (unix values, not os.FileMode).
const (
	ModeSetuid uint32 = 0o4000
	ModeSetgid uint32 = 0o2000
	ModeSticky uint32 = 0o1000
	ModePerm   uint32 = 0o0777
	// ModeMask is every bit Node.Mode may hold.
	ModeMask uint32 = 0o7777
)

// Node is one directory entry with its metadata.
type Node struct {
	Name  string // raw bytes of the entry name
	Kind  Kind
	Mode  uint32 // unix permission, setuid, setgid and sticky bits (07777)
	UID   uint32
	GID   uint32
	User  string // owner name when the backup ran; empty if it did not resolve
	Group string // group name when the backup ran; empty if it did not resolve
	Size  int64
	MTime int64 // unix nanoseconds
	CTime int64 // unix nanoseconds
	Inode uint64
	Dev   uint64
	Nlink uint32

	LinkTarget string    // symlinks only: raw bytes of the target
	Content    []blob.ID // files only: data blobs in file order
	Subtree    blob.ID   // directories only: the tree blob of the listing
}

// Tree is the listing of one directory.
type Tree struct {
	Nodes []Node
}

// Lookup finds the node called name in a tree whose nodes are sorted by name,
// as every decoded tree is.
func (t Tree) Lookup(name string) (Node, bool) {
	i := sort.Search(len(t.Nodes), func(i int) bool { return t.Nodes[i].Name >= name })
	if i < len(t.Nodes) && t.Nodes[i].Name == name {
		return t.Nodes[i], true
	}
	return Node{}, false
}

// ErrInvalid is wrapped by every error about a node or tree that breaks the
// format's rules, from Encode and from Decode.
var ErrInvalid = errors.New("invalid tree")

// ValidName reports whether name may be a node name: not empty, not "." or
// "..", and without '/' or NUL bytes.
func ValidName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, "/\x00")
}

// validate checks the per-node rules shared by Encode and Decode.
func (n *Node) validate() error {
	if !ValidName(n.Name) {
		return fmt.Errorf("%w: bad node name %q (empty, \".\", \"..\", or containing '/' or NUL)", ErrInvalid, n.Name)
	}
	if !n.Kind.valid() {
		return fmt.Errorf("%w: node %q has unknown kind %d", ErrInvalid, n.Name, n.Kind)
	}
	if n.Mode&^ModeMask != 0 {
		return fmt.Errorf("%w: node %q mode %#o has bits outside 07777", ErrInvalid, n.Name, n.Mode)
	}
	if n.Size < 0 {
		return fmt.Errorf("%w: node %q has negative size %d", ErrInvalid, n.Name, n.Size)
	}
	return n.validatePayload()
}

func (n *Node) validatePayload() error {
	if n.Kind != Symlink && n.LinkTarget != "" {
		return fmt.Errorf("%w: %s %q has a link target", ErrInvalid, n.Kind, n.Name)
	}
	if n.Kind != File && len(n.Content) > 0 {
		return fmt.Errorf("%w: %s %q has content blobs", ErrInvalid, n.Kind, n.Name)
	}
	if n.Kind != Dir && !n.Subtree.IsNull() {
		return fmt.Errorf("%w: %s %q has a subtree", ErrInvalid, n.Kind, n.Name)
	}
	if n.Kind == Dir && n.Subtree.IsNull() {
		return fmt.Errorf("%w: directory %q has no subtree", ErrInvalid, n.Name)
	}
	if n.Kind == Symlink && n.LinkTarget == "" {
		return fmt.Errorf("%w: symlink %q has an empty target", ErrInvalid, n.Name)
	}
	return nil
}
