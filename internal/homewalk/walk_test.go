package homewalk

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"bbvault/internal/tree"
)

// excludedByDefault are the paths the default filter must leave out, written
// out by hand from Atlassian's list (not derived from the filter).
var excludedByDefault = []string{
	"caches", "tmp", "export", ".lock", "data/db.h2.db", "data/db.lock.db", "search/data",
	"plugins/.osgi-plugins", "shared/caches", "shared/tmp", "shared/export", "shared/.lock",
	"shared/data/db.h2.db", "shared/search/data", "shared/plugins/.bundled-plugins",
}

var logDirs = []string{"log", "shared/log"}

var specialFiles = []string{"shared/fifo", "shared/sock"}

// walkAll lists the whole home through Walker.ReadDir, depth first.
func walkAll(t *testing.T, root string, opts Options) (map[string]Entry, []Warning) {
	t.Helper()
	w, err := NewWalker(root, opts)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Entry{}
	var warns []Warning
	var visit func(rel string)
	visit = func(rel string) {
		entries, ws, err := w.ReadDir(context.Background(), rel)
		if err != nil {
			t.Fatalf("ReadDir(%q): %v", rel, err)
		}
		warns = append(warns, ws...)
		for i, e := range entries {
			if i > 0 && entries[i-1].Name >= e.Name {
				t.Errorf("ReadDir(%q) not sorted: %q before %q", rel, entries[i-1].Name, e.Name)
			}
			got[e.RelPath] = e
			if e.Kind == tree.Dir {
				visit(e.RelPath)
			}
		}
	}
	visit("")
	return got, warns
}

func assertSameSet(t *testing.T, got map[string]Entry, want map[string]bool) {
	t.Helper()
	var missing, extra []string
	for p := range want {
		if _, ok := got[p]; !ok {
			missing = append(missing, p)
		}
	}
	for p := range got {
		if !want[p] {
			extra = append(extra, p)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	if len(missing) > 0 {
		t.Errorf("%d paths missing from the walk, e.g. %q", len(missing), missing[:min(len(missing), 10)])
	}
	if len(extra) > 0 {
		t.Errorf("%d paths walked that should be excluded, e.g. %q", len(extra), extra[:min(len(extra), 10)])
	}
}

func TestHomeWalk(t *testing.T) {
	h := newTestHome(t)
	all := h.allPaths()
	defaultGone := slices.Concat(excludedByDefault, logDirs, specialFiles)

	t.Run("defaults", func(t *testing.T) {
		got, warns := walkAll(t, h.root, Options{})
		assertSameSet(t, got, without(t, all, defaultGone))
		assertWarnings(t, warns)
		assertGitContent(t, got)
	})
	t.Run("include logs", func(t *testing.T) {
		got, _ := walkAll(t, h.root, Options{IncludeLogs: true})
		assertSameSet(t, got, without(t, all, slices.Concat(excludedByDefault, specialFiles)))
	})
	t.Run("exclude repo", func(t *testing.T) {
		got, _ := walkAll(t, h.root, Options{ExcludeRepos: []int{2}})
		gone := slices.Concat(defaultGone, []string{"shared/data/repositories/2", "data/repositories/2"})
		assertSameSet(t, got, without(t, all, gone))
	})
	t.Run("user patterns", func(t *testing.T) {
		opts := Options{Excludes: []string{"*.tmp", "build/", "shared/data/attachments/1/", "**/pull-requests/1?/"}}
		got, _ := walkAll(t, h.root, opts)
		want := without(t, all, slices.Concat(defaultGone, []string{"shared/data/attachments/1", "shared/build"}))
		for p := range want {
			if userPatternDrops(p) {
				delete(want, p)
			}
		}
		if !want["shared/data/build"] || !want["shared/data/repositories/1/refs/pull-requests/100/from"] {
			t.Fatal("test setup: near misses of the user patterns are not in the expected set")
		}
		assertSameSet(t, got, want)
		assertFilterAgrees(t, h, opts, all, got)
	})
	t.Run("metadata", func(t *testing.T) {
		got, _ := walkAll(t, h.root, Options{})
		assertMetadata(t, h, got)
	})
}

// assertFilterAgrees checks that Filter.Excluded gives, for every path of
// the home, the answer ReadDir's per-directory matching gave.
func assertFilterAgrees(t *testing.T, h *testHome, opts Options, all map[string]bool, got map[string]Entry) {
	t.Helper()
	f := mustFilter(t, opts)
	for p := range all {
		if slices.Contains(specialFiles, p) {
			continue
		}
		fi, err := os.Lstat(h.abs(p))
		if err != nil {
			t.Fatal(err)
		}
		_, walked := got[p]
		if f.Excluded(p, fi.IsDir()) == walked {
			t.Errorf("%q: Filter.Excluded = %v but ReadDir walked = %v", p, !walked, walked)
		}
	}
}

// userPatternDrops says, without the filter, which paths "*.tmp" and
// "**/pull-requests/1?/" leave out: a segment ending in .tmp, or a two-byte
// segment starting with '1' right after a pull-requests directory.
func userPatternDrops(p string) bool {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if strings.HasSuffix(s, ".tmp") {
			return true
		}
		if i > 0 && segs[i-1] == "pull-requests" && len(s) == 2 && s[0] == '1' {
			return true
		}
	}
	return false
}

func assertWarnings(t *testing.T, warns []Warning) {
	t.Helper()
	var paths []string
	for _, w := range warns {
		paths = append(paths, w.RelPath)
	}
	slices.Sort(paths)
	if !slices.Equal(paths, specialFiles) {
		t.Errorf("warnings for %q, want exactly %q", paths, specialFiles)
	}
	for _, w := range warns {
		if !strings.Contains(w.String(), "fifo") && !strings.Contains(w.String(), "socket") {
			t.Errorf("warning %q does not say what kind of file was skipped", w)
		}
	}
}

// assertGitContent checks that the parts of a bare repository that matter
// for a restore were walked: loose objects, loose refs, alternates.
func assertGitContent(t *testing.T, got map[string]Entry) {
	t.Helper()
	var loose, refs int
	for p, e := range got {
		segs := strings.Split(p, "/")
		if strings.HasPrefix(p, "shared/data/repositories/1/objects/") && len(segs) == 7 && len(segs[5]) == 2 && e.Kind == tree.File {
			loose++
		}
		if strings.HasPrefix(p, "shared/data/repositories/1/refs/pull-requests/") && strings.HasSuffix(p, "/from") {
			refs++
		}
	}
	if loose < 9 {
		t.Errorf("%d loose objects walked in repository 1, want at least 9 (3 commits)", loose)
	}
	if refs != prRefs {
		t.Errorf("%d loose pull-request refs walked, want %d", refs, prRefs)
	}
	alt, ok := got["shared/data/repositories/2/objects/info/alternates"]
	if !ok || alt.Kind != tree.File || alt.Size == 0 {
		t.Errorf("fork's objects/info/alternates not walked as a non-empty file: %+v", alt)
	}
}

func assertMetadata(t *testing.T, h *testHome, got map[string]Entry) {
	t.Helper()
	for _, c := range []struct {
		rel  string
		kind tree.Kind
		mode uint32
	}{
		{"shared/setgid", tree.Dir, 0o2775}, {"shared/sticky", tree.Dir, 0o1777}, {"shared/empty", tree.Dir, 0o755},
		{"shared/odd/with space", tree.File, 0o644}, {"shared/odd/new\nline", tree.File, 0o644},
		{"shared/odd/bad\xffbyte", tree.File, 0o644}, {"shared/odd/dir with\nnewline\xff/inner", tree.File, 0o644},
		{"shared/link-odd", tree.Symlink, 0o777},
	} {
		e, ok := got[c.rel]
		if !ok || e.Kind != c.kind || e.Mode != c.mode {
			t.Errorf("%q: got kind %v mode %#o (listed %v), want %v %#o", c.rel, e.Kind, e.Mode, ok, c.kind, c.mode)
		}
	}
	assertLinks(t, got)
	for _, rel := range []string{"shared/bitbucket.properties", "shared/setgid", "shared/link-odd", "shared/odd/bad\xffbyte"} {
		assertMatchesLstat(t, h.abs(rel), got[rel])
	}
	if p := got["shared/bitbucket.properties"]; p.MTime != 1_600_000_000_123_456_789 {
		t.Errorf("mtime %d lost its nanoseconds, want 1600000000123456789", p.MTime)
	}
}

func assertLinks(t *testing.T, got map[string]Entry) {
	t.Helper()
	targets := map[string]string{
		"shared/link-to-dir":                 "data/attachments",
		"shared/link-dangling-into-excluded": "../log/atlassian-bitbucket.log",
		"shared/link-odd":                    "odd/bad\xffbyte with\nnewline tgt",
	}
	for rel, want := range targets {
		if e := got[rel]; e.Kind != tree.Symlink || e.LinkTarget != want {
			t.Errorf("%q: kind %v target %q, want symlink to %q", rel, e.Kind, e.LinkTarget, want)
		}
	}
	if _, ok := got["shared/link-to-dir/1/a1"]; ok {
		t.Error("the walk followed a symlink to a directory")
	}
	a, b := got["shared/data/attachments/1/a1"], got["shared/data/attachments/1/a1-hardlink"]
	if a.Inode == 0 || a.Inode != b.Inode || a.Dev != b.Dev || a.Nlink != 2 || b.Nlink != 2 {
		t.Errorf("hard links: a1 inode %d dev %d nlink %d, a1-hardlink inode %d dev %d nlink %d", a.Inode, a.Dev, a.Nlink, b.Inode, b.Dev, b.Nlink)
	}
}

// assertMatchesLstat compares an entry with what lstat(2) and the user
// database say about the path.
func assertMatchesLstat(t *testing.T, path string, e Entry) {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	if e.Path != path || e.Size != st.Size || e.MTime != st.Mtim.Nano() || e.CTime != st.Ctim.Nano() ||
		e.Inode != st.Ino || e.UID != st.Uid || e.GID != st.Gid || e.Mode != st.Mode&0o7777 {
		t.Errorf("%q: entry %+v does not match lstat %+v", path, e.Node, st)
	}
	if u, err := user.LookupId(strconv.Itoa(int(st.Uid))); err == nil && e.User != u.Username {
		t.Errorf("%q: owner name %q, want %q", path, e.User, u.Username)
	}
	if g, err := user.LookupGroupId(strconv.Itoa(int(st.Gid))); err == nil && e.Group != g.Name {
		t.Errorf("%q: group name %q, want %q", path, e.Group, g.Name)
	}
}

func TestReadDirBadInput(t *testing.T) {
	dir := t.TempDir()
	w, err := NewWalker(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.ReadDir(context.Background(), "../etc"); err == nil {
		t.Error("ReadDir outside the home accepted")
	}
	if _, _, err := w.ReadDir(context.Background(), "missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadDir of a missing directory: %v, want a not-exist error", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := w.ReadDir(ctx, ""); err == nil {
		t.Error("ReadDir with a cancelled context succeeded")
	}
	if _, err := NewWalker(dir+"/nothing-here", Options{}); err == nil {
		t.Error("NewWalker on a missing home succeeded")
	}
	if _, err := NewWalker(dir, Options{Excludes: []string{"[bad"}}); err == nil {
		t.Error("NewWalker with a malformed pattern succeeded")
	}
}

func TestWalkerRootSymlinkAndStat(t *testing.T) {
	real := t.TempDir()
	if err := os.Mkdir(real+"/shared", 0o750); err != nil {
		t.Fatal(err)
	}
	link := t.TempDir() + "/home-link"
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	w, err := NewWalker(link, Options{})
	if err != nil {
		t.Fatal(err)
	}
	entries, _, err := w.ReadDir(context.Background(), "")
	if err != nil || len(entries) != 1 || entries[0].Name != "shared" {
		t.Fatalf("ReadDir of a home reached through a symlink: %+v, %v", entries, err)
	}
	root, err := w.Stat("")
	if err != nil || root.Kind != tree.Dir || root.Name != "" || root.Path != w.Root() {
		t.Errorf("Stat(\"\") = %+v, %v; want the root directory with an empty name", root, err)
	}
	sh, err := w.Stat("shared")
	if err != nil || sh.Name != "shared" || sh.Mode != 0o750 || sh.RelPath != "shared" {
		t.Errorf("Stat(shared) = %+v, %v", sh, err)
	}
}
