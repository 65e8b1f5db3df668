package homewalk

import (
	"path"
	"slices"
	"strings"
	"testing"
)

func mustFilter(t *testing.T, opts Options) *Filter {
	t.Helper()
	f, err := NewFilter(opts)
	if err != nil {
		t.Fatalf("NewFilter(%+v): %v", opts, err)
	}
	return f
}

func TestDefaultExcludesBothForms(t *testing.T) {
	f := mustFilter(t, Options{})
	for _, c := range []struct {
		rel   string
		isDir bool
	}{
		{"caches", true}, {"tmp", true}, {"export", true}, {".lock", false}, {"data/db.h2.db", false},
		{"data/db.lock.db", false}, {"search/data", true}, {"plugins/.osgi-plugins", true}, {"log", true},
	} {
		for _, rel := range []string{c.rel, "shared/" + c.rel} {
			if !f.Excluded(rel, c.isDir) {
				t.Errorf("default filter keeps %q (dir=%v); Atlassian's scripts leave it out", rel, c.isDir)
			}
			if !f.Excluded(rel+"/inner/file", false) && c.isDir {
				t.Errorf("default filter keeps %q although its parent is excluded", rel+"/inner/file")
			}
		}
	}
	kept := []string{
		"shared/data/repositories/1/objects/pack", "shared/data/attachments/caches", "shared/x/tmp",
		"data/dbconfig.xml", "search/config", "plugins/installed-plugins", "shared/plugins/installed-plugins",
		"shared/bitbucket.properties", "shared/data/repositories/1/logs", "shared/data/repositories/1/.lock",
	}
	for _, rel := range kept {
		if f.Excluded(rel, true) {
			t.Errorf("default filter excludes %q, which must be backed up", rel)
		}
	}
	if f.Excluded("", true) || f.Excluded(".", true) {
		t.Error("the home root itself is excluded")
	}
}

func TestDefaultExcludesListed(t *testing.T) {
	d := DefaultExcludes()
	for _, want := range []string{"/caches/", "/shared/caches/", "/.lock", "/shared/data/db.*", "/plugins/.*/", "/log/", "/shared/log/"} {
		if !slices.Contains(d, want) {
			t.Errorf("DefaultExcludes() = %q lacks %q", d, want)
		}
	}
	withLogs := mustFilter(t, Options{IncludeLogs: true})
	if slices.Contains(withLogs.Patterns(), "/log/") || withLogs.Excluded("log/x.log", false) {
		t.Error("IncludeLogs still excludes log/")
	}
	if !withLogs.Excluded("shared/caches", true) {
		t.Error("IncludeLogs dropped other defaults")
	}
}

func TestExcludeRepos(t *testing.T) {
	f := mustFilter(t, Options{ExcludeRepos: []int{7, 42}})
	for _, rel := range []string{"shared/data/repositories/7", "shared/data/repositories/42/objects/ab/cd", "data/repositories/7"} {
		if !f.Excluded(rel, true) {
			t.Errorf("--exclude-repo 7,42 keeps %q", rel)
		}
	}
	for _, rel := range []string{"shared/data/repositories/70", "shared/data/repositories/4", "shared/data/repositories/1/7"} {
		if f.Excluded(rel, true) {
			t.Errorf("--exclude-repo 7,42 excludes %q", rel)
		}
	}
	for _, bad := range []int{0, -3} {
		if _, err := NewFilter(Options{ExcludeRepos: []int{bad}}); err == nil {
			t.Errorf("--exclude-repo %d accepted", bad)
		}
	}
}

func TestUserPatterns(t *testing.T) {
	cases := []struct {
		pattern string
		rel     string
		isDir   bool
		want    bool
	}{
		{"*.tmp", "a.tmp", false, true},
		{"*.tmp", "shared/x/b.tmp", false, true},
		{"*.tmp", "shared/c.tmp/inner", false, true}, // parent directory matches
		{"*.tmp", "shared/a.tmpx", false, false},
		{"build/", "shared/build", true, true},
		{"build/", "shared/build", false, false}, // a file named build
		{"build/", "shared/build/out.o", false, true},
		{"shared/data/attachments", "shared/data/attachments", true, true},
		{"/shared/data/attachments", "shared/data/attachments/1/x", false, true},
		{"shared/data/attachments", "x/shared/data/attachments", true, false}, // anchored
		{"data/attachments", "shared/data/attachments", true, false},          // anchored at the root
		{"**/objects/pack", "shared/data/repositories/1/objects/pack", true, true},
		{"**/objects/pack", "objects/pack", true, true},
		{"shared/**/HEAD", "shared/HEAD", false, true},
		{"shared/**/HEAD", "shared/data/repositories/1/HEAD", false, true},
		{"shared/**/HEAD", "HEAD", false, false},
		{"shared/data/**", "shared/data", true, false},
		{"shared/data/**", "shared/data/x", false, true},
		{"a/**/b/*.log", "a/x/y/b/gc.log", false, true},
		{"a/**/b/*.log", "a/b/gc.log", false, true},
		{"a/**/b/*.log", "a/b/c/gc.log", false, false},
		{"?.txt", "a.txt", false, true},
		{"?.txt", "ab.txt", false, false},
		{"[a-c].txt", "b.txt", false, true},
		{"[!a-c].txt", "b.txt", false, false},
		{"[!a-c].txt", "d.txt", false, true},
		{"[^a-c].txt", "d.txt", false, true},
		{`\!important`, "!important", false, true},
		{`star\*`, "star*", false, true},
		{`star\*`, "starx", false, false},
		{"with space", "shared/with space", false, true},
		{"*", "anything/at/all", false, true},
		{"pull-requests/1?/", "shared/data/repositories/1/refs/pull-requests/12", true, false},
		{"**/pull-requests/1?/", "shared/data/repositories/1/refs/pull-requests/12", true, true},
		{"**/pull-requests/1?/", "shared/data/repositories/1/refs/pull-requests/112", true, false},
	}
	for _, c := range cases {
		f := mustFilter(t, Options{Excludes: []string{c.pattern}, IncludeLogs: true})
		if got := f.Excluded(c.rel, c.isDir); got != c.want {
			t.Errorf("pattern %q, path %q (dir=%v): excluded = %v, want %v", c.pattern, c.rel, c.isDir, got, c.want)
		}
	}
}

func TestBadPatterns(t *testing.T) {
	cases := map[string]string{
		"":          "empty",
		"!keep":     "negation",
		"a//b":      "empty path segment",
		"/":         "names no file",
		"a/../b":    "not allowed",
		"[abc":      "malformed",
		`trailing\`: "malformed",
		"a\x00b":    "NUL",
	}
	for pat, want := range cases {
		_, err := NewFilter(Options{Excludes: []string{"ok.tmp", pat}})
		if err == nil {
			t.Errorf("pattern %q accepted", pat)
			continue
		}
		if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "--exclude") {
			t.Errorf("pattern %q: error %q does not say %q and name --exclude", pat, err, want)
		}
	}
}

// TestGlobShortcutsAgreeWithPathMatch checks the literal/prefix/suffix
// shortcuts against path.Match on the same inputs.
func TestGlobShortcutsAgreeWithPathMatch(t *testing.T) {
	globs := []string{"caches", "db.*", ".*", "*.tmp", "*", "a*b", "*a*", "?x", `\*lit`, "[ab]*", "*[0-9]"}
	names := []string{"caches", "cache", "db.h2.db", "db", "dbx", ".osgi", "x.tmp", ".tmp", "tmp", "ab", "a1b", "*lit", "b9", "", "x"}
	for _, g := range globs {
		compiled, err := compileSegment(g, g)
		if err != nil {
			t.Fatalf("%q: %v", g, err)
		}
		for _, n := range names {
			want, _ := path.Match(g, n)
			if got := compiled.match(n); got != want {
				t.Errorf("glob %q (kind %d) on %q = %v, path.Match says %v", g, compiled.kind, n, got, want)
			}
		}
	}
}
