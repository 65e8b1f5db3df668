package tree

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"bbvault/internal/blob"
)

func idOf(b byte) blob.ID {
	var id blob.ID
	for i := range id {
		id[i] = b ^ byte(i)
	}
	return id
}

// oddTree has every kind and the names a home directory can really hold.
func oddTree() Tree {
	return Tree{Nodes: []Node{
		{Name: "with space", Kind: File, Mode: 0o644, UID: 1000, GID: 1000, User: "bitbucket", Group: "bitbucket",
			Size: 5, MTime: 1_700_000_000_123_456_789, CTime: 1_700_000_001_000_000_001, Inode: 42, Dev: 2049, Nlink: 2,
			Content: []blob.ID{idOf(1), idOf(2)}},
		{Name: "new\nline", Kind: Dir, Mode: 0o2775, Nlink: 3, Subtree: idOf(3), MTime: -1, CTime: math.MinInt64},
		{Name: "bad\xffbyte", Kind: Symlink, Mode: 0o777, LinkTarget: "../tar\xfeget with space\n", Size: 23,
			MTime: math.MaxInt64, Inode: math.MaxUint64, Dev: math.MaxUint64},
		{Name: "empty", Kind: File, Mode: 0o4755 | 0o1000, UID: math.MaxUint32, GID: math.MaxUint32, Nlink: math.MaxUint32},
		{Name: "\x01", Kind: File, Size: math.MaxInt64},
	}}
}

func sortedCopy(t Tree) Tree {
	b, err := Encode(t)
	if err != nil {
		panic(err)
	}
	d, err := Decode(b)
	if err != nil {
		panic(err)
	}
	return d
}

func TestRoundTripOddNames(t *testing.T) {
	in := oddTree()
	b, err := Encode(in)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	out, err := Decode(b)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if len(out.Nodes) != len(in.Nodes) {
		t.Fatalf("decoded %d nodes, want %d", len(out.Nodes), len(in.Nodes))
	}
	for _, want := range in.Nodes {
		got, ok := out.Lookup(want.Name)
		if !ok {
			t.Fatalf("node %q missing after round trip", want.Name)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("node %q:\n got %+v\nwant %+v", want.Name, got, want)
		}
	}
	for i := 1; i < len(out.Nodes); i++ {
		if out.Nodes[i-1].Name >= out.Nodes[i].Name {
			t.Errorf("decoded nodes not sorted: %q before %q", out.Nodes[i-1].Name, out.Nodes[i].Name)
		}
	}
}

func TestEncodeDeterministic(t *testing.T) {
	in := oddTree()
	first, err := Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := Encode(in)
	if !bytes.Equal(first, again) {
		t.Fatal("encoding the same tree twice gave different bytes")
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		shuffled := Tree{Nodes: append([]Node(nil), in.Nodes...)}
		r.Shuffle(len(shuffled.Nodes), func(i, j int) {
			shuffled.Nodes[i], shuffled.Nodes[j] = shuffled.Nodes[j], shuffled.Nodes[i]
		})
		b, err := Encode(shuffled)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, b) {
			t.Fatalf("shuffled input encoded differently")
		}
	}
	if in.Nodes[0].Name != "with space" {
		t.Error("Encode reordered the caller's slice")
	}
}

func TestEncodeEmptyTree(t *testing.T) {
	b, err := Encode(Tree{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, []byte{Version, 0}) {
		t.Fatalf("empty tree encodes to %x, want %x", b, []byte{Version, 0})
	}
	got, err := Decode(b)
	if err != nil || len(got.Nodes) != 0 {
		t.Fatalf("Decode(empty) = %+v, %v", got, err)
	}
}

func TestEncodeRejects(t *testing.T) {
	file := Node{Name: "f", Kind: File}
	with := func(f func(n *Node)) Node { n := file; f(&n); return n }
	cases := map[string][]Node{
		"duplicate":        {file, file},
		"slash":            {with(func(n *Node) { n.Name = "a/b" })},
		"nul":              {with(func(n *Node) { n.Name = "a\x00b" })},
		"dot":              {with(func(n *Node) { n.Name = "." })},
		"dotdot":           {with(func(n *Node) { n.Name = ".." })},
		"empty name":       {with(func(n *Node) { n.Name = "" })},
		"kind zero":        {with(func(n *Node) { n.Kind = 0 })},
		"mode type bits":   {with(func(n *Node) { n.Mode = 0o100644 })},
		"negative size":    {with(func(n *Node) { n.Size = -1 })},
		"file with target": {with(func(n *Node) { n.LinkTarget = "x" })},
		"file w/ subtree":  {with(func(n *Node) { n.Subtree = idOf(1) })},
		"dir w/o subtree":  {{Name: "d", Kind: Dir}},
		"dir with content": {{Name: "d", Kind: Dir, Subtree: idOf(1), Content: []blob.ID{idOf(2)}}},
		"empty target":     {{Name: "l", Kind: Symlink}},
	}
	for name, nodes := range cases {
		if _, err := Encode(Tree{Nodes: nodes}); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Encode error = %v, want ErrInvalid", name, err)
		}
	}
}

func TestDecodeRejectsTruncation(t *testing.T) {
	b, err := Encode(oddTree())
	if err != nil {
		t.Fatal(err)
	}
	for i := range len(b) {
		if _, err := Decode(b[:i]); !errors.Is(err, ErrInvalid) {
			t.Fatalf("Decode of the first %d of %d bytes: error = %v, want ErrInvalid", i, len(b), err)
		}
	}
	if _, err := Decode(append(b, 0)); err == nil || !strings.Contains(err.Error(), "trailing") {
		t.Errorf("Decode with a trailing byte: error = %v, want trailing-bytes error", err)
	}
}

func TestDecodeRejectsNonCanonical(t *testing.T) {
	one := func(nodes ...[]byte) []byte {
		b := []byte{Version, byte(len(nodes))}
		for _, n := range nodes {
			b = append(b, n...)
		}
		return b
	}
	// A file node: name, kind, the given mode bytes, then uid, gid, user,
	// group, size, mtime, ctime, inode, dev, nlink and content count all 0.
	node := func(name string, modeVarint ...byte) []byte {
		b := append([]byte{byte(len(name))}, name...)
		b = append(b, byte(File))
		b = append(b, modeVarint...)
		return append(b, make([]byte, 11)...)
	}
	valid := one(node("a", 0))
	if _, err := Decode(valid); err != nil {
		t.Fatalf("hand-built valid tree rejected: %v", err)
	}
	cases := map[string][]byte{
		"version 2":         append([]byte{2}, valid[1:]...),
		"padded varint":     one(node("a", 0x80, 0x00)),
		"mode too large":    one(node("a", 0x80, 0x40)), // 0o20000
		"out of order":      one(node("b", 0), node("a", 0)),
		"duplicate":         one(node("a", 0), node("a", 0)),
		"huge node count":   {Version, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"slash in name":     one(node("a/b", 0)),
		"unknown kind 4":    bytes.Replace(valid, []byte{1, 'a', byte(File)}, []byte{1, 'a', 4}, 1),
		"varint overflow":   {Version, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		"empty":             {},
		"dir zero subtree":  append(bytes.Replace(valid[:len(valid)-1], []byte{1, 'a', byte(File)}, []byte{1, 'a', byte(Dir)}, 1), make([]byte, 32)...),
		"huge content list": append(valid[:len(valid)-1], 0xff, 0x01),
	}
	for name, b := range cases {
		if _, err := Decode(b); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Decode error = %v, want ErrInvalid", name, err)
		}
	}
}

// randomTree builds a valid tree with random names (any bytes but '/' and
// NUL) and random field values.
func randomTree(r *rand.Rand) Tree {
	var t Tree
	seen := map[string]bool{}
	for range r.IntN(30) {
		n := randomNode(r)
		if seen[n.Name] {
			continue
		}
		seen[n.Name] = true
		t.Nodes = append(t.Nodes, n)
	}
	return t
}

func randomName(r *rand.Rand) string {
	for {
		b := make([]byte, 1+r.IntN(12))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		if s := string(b); ValidName(s) {
			return s
		}
	}
}

func randomNode(r *rand.Rand) Node {
	n := Node{
		Name: randomName(r), Kind: Kind(1 + r.IntN(3)), Mode: r.Uint32() & ModeMask,
		UID: r.Uint32(), GID: r.Uint32(), Size: r.Int64(), MTime: int64(r.Uint64()), CTime: int64(r.Uint64()),
		Inode: r.Uint64() >> r.IntN(64), Dev: r.Uint64() >> r.IntN(64), Nlink: r.Uint32() >> r.IntN(32),
	}
	if r.IntN(2) == 0 {
		n.User, n.Group = randomName(r), randomName(r)
	}
	switch n.Kind {
	case File:
		for range r.IntN(4) {
			n.Content = append(n.Content, idOf(byte(r.IntN(256))))
		}
	case Dir:
		n.Subtree = idOf(byte(r.IntN(255) + 1))
	case Symlink:
		n.LinkTarget = randomName(r) + "/" + randomName(r)
	}
	return n
}

func TestRandomRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for i := range 500 {
		in := randomTree(r)
		b, err := Encode(in)
		if err != nil {
			t.Fatalf("tree %d: Encode: %v", i, err)
		}
		out, err := Decode(b)
		if err != nil {
			t.Fatalf("tree %d: Decode: %v", i, err)
		}
		want := sortedCopy(in)
		if !reflect.DeepEqual(out, want) || len(out.Nodes) != len(in.Nodes) {
			t.Fatalf("tree %d: round trip changed the tree", i)
		}
		again, _ := Encode(out)
		if !bytes.Equal(b, again) {
			t.Fatalf("tree %d: re-encoding the decoded tree gave different bytes", i)
		}
	}
}

func TestLookup(t *testing.T) {
	tr := sortedCopy(oddTree())
	for _, n := range oddTree().Nodes {
		if got, ok := tr.Lookup(n.Name); !ok || got.Name != n.Name {
			t.Errorf("Lookup(%q) = %q, %v", n.Name, got.Name, ok)
		}
	}
	if _, ok := tr.Lookup("missing"); ok {
		t.Error("Lookup found a name that is not there")
	}
}

// FuzzDecode checks that Decode never panics and that whatever it accepts is
// canonical: encoding the result gives back exactly the input.
func FuzzDecode(f *testing.F) {
	r := rand.New(rand.NewPCG(3, 5))
	for range 8 {
		b, _ := Encode(randomTree(r))
		f.Add(b)
	}
	b, _ := Encode(oddTree())
	f.Add(b)
	f.Add([]byte{Version, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		tr, err := Decode(in)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Decode error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		out, err := Encode(tr)
		if err != nil {
			t.Fatalf("Encode of a decoded tree failed: %v", err)
		}
		if !bytes.Equal(in, out) {
			t.Fatalf("Decode accepted a non-canonical encoding:\n in %x\nout %x", in, out)
		}
	})
}
