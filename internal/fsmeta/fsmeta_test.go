package fsmeta

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"bbvault/internal/blob"
	"bbvault/internal/tree"
)

func lstat(t *testing.T, path string) unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	f, err := CreateFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(content); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// restoreSample restores a small tree into target: a setgid directory with
// a setuid file, a symlink and an odd name inside, a sticky directory, and a
// read-only directory, applying directories last through a DirQueue.
func restoreSample(t *testing.T, target string, opts ApplyOptions) map[string]tree.Node {
	t.Helper()
	sub := blob.ID{1}
	nodes := map[string]tree.Node{
		"shared":                 {Name: "shared", Kind: tree.Dir, Mode: 0o2775, MTime: 1_500_000_000_000_000_001, Subtree: sub},
		"shared/run.sh":          {Name: "run.sh", Kind: tree.File, Mode: 0o4755, MTime: 1_600_000_000_123_456_789},
		"shared/odd \n\xffname":  {Name: "odd \n\xffname", Kind: tree.File, Mode: 0o640, MTime: -1_000_000_007},
		"shared/link":            {Name: "link", Kind: tree.Symlink, Mode: 0o777, LinkTarget: "run.sh \xfe", MTime: 1_400_000_000_999_999_999},
		"sticky":                 {Name: "sticky", Kind: tree.Dir, Mode: 0o1777, MTime: 1_300_000_000_000_000_300, Subtree: sub},
		"readonly":               {Name: "readonly", Kind: tree.Dir, Mode: 0o555, MTime: 1_200_000_000_000_000_200, Subtree: sub},
		"readonly/inside":        {Name: "inside", Kind: tree.File, Mode: 0o444, MTime: 1_100_000_000_000_000_100},
		"readonly/nested":        {Name: "nested", Kind: tree.Dir, Mode: 0o700, MTime: 1_000_000_000_000_000_050, Subtree: sub},
		"readonly/nested/deeper": {Name: "deeper", Kind: tree.File, Mode: 0o600, MTime: 900_000_000_000_000_001},
	}
	var dirs DirQueue
	for _, rel := range []string{"shared", "sticky", "readonly", "readonly/nested"} {
		p := filepath.Join(target, rel)
		if err := Mkdir(p); err != nil {
			t.Fatal(err)
		}
		dirs.Add(p, nodes[rel])
	}
	for rel, n := range nodes {
		p := filepath.Join(target, rel)
		switch n.Kind {
		case tree.File:
			writeFile(t, p, "content of "+rel)
		case tree.Symlink:
			if err := Symlink(n, p); err != nil {
				t.Fatal(err)
			}
		default:
			continue
		}
		if err := Apply(p, n, opts); err != nil {
			t.Fatalf("Apply(%q): %v", rel, err)
		}
	}
	if err := dirs.Apply(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	return nodes
}

func TestRestoreModesTimesLinks(t *testing.T) {
	target := t.TempDir()
	nodes := restoreSample(t, target, ApplyOptions{})
	for rel, n := range nodes {
		st := lstat(t, filepath.Join(target, rel))
		if got := st.Mtim.Nano(); got != n.MTime {
			t.Errorf("%q (%s): mtime %d, want %d", rel, n.Kind, got, n.MTime)
		}
		if n.Kind != tree.Symlink && st.Mode&0o7777 != n.Mode {
			t.Errorf("%q: mode %#o, want %#o", rel, st.Mode&0o7777, n.Mode)
		}
	}
	target2, err := os.Readlink(filepath.Join(target, "shared/link"))
	if err != nil || target2 != "run.sh \xfe" {
		t.Errorf("symlink target %q, %v", target2, err)
	}
	b, err := os.ReadFile(filepath.Join(target, "shared/odd \n\xffname"))
	if err != nil || string(b) != "content of shared/odd \n\xffname" {
		t.Errorf("odd name content %q, %v", b, err)
	}
}

func TestCreateRefusesExisting(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	writeFile(t, p, "x")
	if _, err := CreateFile(p); !errors.Is(err, fs.ErrExist) {
		t.Errorf("CreateFile over an existing file: %v, want ErrExist", err)
	}
	if err := os.Symlink("f", filepath.Join(dir, "l")); err != nil {
		t.Fatal(err)
	}
	if _, err := CreateFile(filepath.Join(dir, "l")); err == nil {
		t.Error("CreateFile through an existing symlink succeeded")
	}
	if err := Mkdir(p); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Mkdir over an existing file: %v, want ErrExist", err)
	}
	if err := Symlink(tree.Node{Name: "f", Kind: tree.File}, filepath.Join(dir, "x")); err == nil {
		t.Error("Symlink from a file node succeeded")
	}
	if err := MkdirAll(filepath.Join(dir, "a/b/c")); err != nil {
		t.Errorf("MkdirAll: %v", err)
	}
}

func TestHardlinks(t *testing.T) {
	dir := t.TempDir()
	set := NewHardlinkSet()
	a := tree.Node{Name: "a", Kind: tree.File, Dev: 7, Inode: 99, Nlink: 3}
	b, c := a, a
	b.Name, c.Name = "b", "c"
	single := tree.Node{Name: "s", Kind: tree.File, Dev: 7, Inode: 99, Nlink: 1}
	otherDev := tree.Node{Name: "o", Kind: tree.File, Dev: 8, Inode: 99, Nlink: 2}
	var links [][2]string
	for _, n := range []tree.Node{a, b, single, otherDev, c} {
		p := filepath.Join(dir, n.Name)
		if first, link := set.Claim(n, p); link {
			links = append(links, [2]string{first, p})
			continue
		}
		writeFile(t, p, "data of "+n.Name)
	}
	for _, l := range links { // links last, once every file is written
		if err := Hardlink(l[0], l[1]); err != nil {
			t.Fatal(err)
		}
	}
	ino := func(name string) uint64 { st := lstat(t, filepath.Join(dir, name)); return st.Ino }
	if ino("a") != ino("b") || ino("a") != ino("c") || lstat(t, filepath.Join(dir, "a")).Nlink != 3 {
		t.Errorf("a, b, c are not one inode with 3 links: %d %d %d", ino("a"), ino("b"), ino("c"))
	}
	if ino("s") == ino("a") || ino("o") == ino("a") {
		t.Error("a file with Nlink 1 or another device was linked")
	}
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("restoring owners needs root; this test runs as uid", os.Geteuid())
	}
}

func TestApplyOwnersAsRoot(t *testing.T) {
	requireRoot(t)
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody on this host")
	}
	nobodyUID, _ := strconv.Atoi(nobody.Uid)
	dir := t.TempDir()
	cases := []struct {
		name     string
		node     tree.Node
		opts     ApplyOptions
		uid, gid int
	}{
		{"numeric, no names", tree.Node{Kind: tree.File, Mode: 0o4755, UID: 12345, GID: 23456}, ApplyOptions{Chown: true}, 12345, 23456},
		{"names win", tree.Node{Kind: tree.File, Mode: 0o2755, UID: 12345, GID: 23456, User: "nobody", Group: "no-such-group-bbvault"}, ApplyOptions{Chown: true, IDs: NewIDs()}, nobodyUID, 23456},
		{"numeric only", tree.Node{Kind: tree.File, Mode: 0o6755, UID: 12345, GID: 23456, User: "nobody"}, ApplyOptions{Chown: true, NumericOnly: true}, 12345, 23456},
		{"unknown name", tree.Node{Kind: tree.File, Mode: 0o644, UID: 12345, GID: 23456, User: "no-such-user-bbvault"}, ApplyOptions{Chown: true}, 12345, 23456},
		{"owner override", tree.Node{Kind: tree.File, Mode: 0o4750, UID: 0, GID: 0, User: "root", Group: "root"}, ApplyOptions{Owner: &Owner{UID: 12345, GID: 23456}}, 12345, 23456},
		{"no chown", tree.Node{Kind: tree.File, Mode: 0o644, UID: 12345, GID: 23456}, ApplyOptions{}, 0, 0},
	}
	for i, c := range cases {
		p := filepath.Join(dir, strconv.Itoa(i))
		writeFile(t, p, "x")
		c.node.Name = filepath.Base(p)
		if err := Apply(p, c.node, c.opts); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		st := lstat(t, p)
		if int(st.Uid) != c.uid || int(st.Gid) != c.gid {
			t.Errorf("%s: owner %d:%d, want %d:%d", c.name, st.Uid, st.Gid, c.uid, c.gid)
		}
		if st.Mode&0o7777 != c.node.Mode {
			t.Errorf("%s: mode %#o, want %#o (setuid/setgid lost to chown?)", c.name, st.Mode&0o7777, c.node.Mode)
		}
	}
}

func TestApplySymlinkOwnerAsRoot(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	writeFile(t, target, "x")
	link := filepath.Join(dir, "link")
	n := tree.Node{Name: "link", Kind: tree.Symlink, Mode: 0o777, UID: 12345, GID: 23456, LinkTarget: "target", MTime: 1_234_567_890_123_456_789}
	if err := Symlink(n, link); err != nil {
		t.Fatal(err)
	}
	if err := Apply(link, n, ApplyOptions{Chown: true}); err != nil {
		t.Fatal(err)
	}
	ls, ts := lstat(t, link), lstat(t, target)
	if ls.Uid != 12345 || ls.Gid != 23456 {
		t.Errorf("symlink owner %d:%d, want 12345:23456", ls.Uid, ls.Gid)
	}
	if ts.Uid != 0 || ts.Mode&0o7777 != 0o600 {
		t.Errorf("Apply on a symlink changed its target: owner %d mode %#o", ts.Uid, ts.Mode&0o7777)
	}
	if ls.Mtim.Nano() != n.MTime {
		t.Errorf("symlink mtime %d, want %d", ls.Mtim.Nano(), n.MTime)
	}
}

func TestRestoreWithOwnerMapping(t *testing.T) {
	requireRoot(t)
	owner, err := ParseOwner("12345:23456")
	if err != nil {
		t.Fatal(err)
	}
	target := t.TempDir()
	nodes := restoreSample(t, target, ApplyOptions{Owner: &owner})
	for rel, n := range nodes {
		st := lstat(t, filepath.Join(target, rel))
		if st.Uid != 12345 || st.Gid != 23456 {
			t.Errorf("%q: owner %d:%d, want 12345:23456", rel, st.Uid, st.Gid)
		}
		if n.Kind != tree.Symlink && st.Mode&0o7777 != n.Mode {
			t.Errorf("%q: mode %#o, want %#o", rel, st.Mode&0o7777, n.Mode)
		}
	}
}

func TestParseOwner(t *testing.T) {
	root, err := user.LookupId("0")
	if err != nil {
		t.Skip("no user 0 in the user database")
	}
	rootGroup, err := user.LookupGroupId(root.Gid)
	if err != nil {
		t.Skip("root's primary group has no name")
	}
	rootGID, _ := strconv.Atoi(root.Gid)
	good := map[string]Owner{
		root.Username:                        {UID: 0, GID: uint32(rootGID), User: root.Username, Group: rootGroup.Name},
		root.Username + ":":                  {UID: 0, GID: uint32(rootGID), User: root.Username, Group: rootGroup.Name},
		root.Username + ":" + rootGroup.Name: {UID: 0, GID: uint32(rootGID), User: root.Username, Group: rootGroup.Name},
		"0:" + root.Gid:                      {UID: 0, GID: uint32(rootGID), User: root.Username, Group: rootGroup.Name},
		"12345:23456":                        {UID: 12345, GID: 23456},
		root.Username + ":23456":             {UID: 0, GID: 23456, User: root.Username},
	}
	for in, want := range good {
		got, err := ParseOwner(in)
		if err != nil || got != want {
			t.Errorf("ParseOwner(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	bad := map[string]string{
		"":                             "USER:GROUP",
		":users":                       "USER:GROUP",
		"a:b:c":                        "USER:GROUP",
		"no-such-user-bbvault":         "does not exist",
		root.Username + ":no-such-grp": "does not exist",
		"12345":                        "primary group",
	}
	for in, want := range bad {
		if _, err := ParseOwner(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseOwner(%q) error = %v, want one saying %q", in, err, want)
		}
	}
}

func TestDirQueueCancelled(t *testing.T) {
	var q DirQueue
	q.Add(t.TempDir(), tree.Node{Kind: tree.Dir, Mode: 0o700})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := q.Apply(ctx, ApplyOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("DirQueue.Apply with a cancelled context: %v", err)
	}
}
