package excludes

import (
	"path"
	"path/filepath"
	"strings"
)

// bases are the paths Atlassian's scripts leave out, relative to the node
// home; each applies in the node-home form and under shared/. A trailing '/'
// means directories only; '*' is a glob within one name.
var bases = []string{
	"caches/", "tmp/", "export/", ".lock", "data/db.*", "search/data/", "plugins/.*/", "log/",
}

// Patterns returns the excludes anchored at the home root ("/caches/",
// "/shared/caches/", ...), the syntax bbvault's --exclude and rsync's
// --exclude share.
func Patterns() []string {
	var out []string
	for _, b := range bases {
		out = append(out, "/"+b, "/shared/"+b)
	}
	return out
}

// ResticPatterns returns the patterns as restic --exclude takes them:
// absolute paths under home, without the trailing '/' (restic has no
// directories-only form; the generated home has no file those would catch
// wrongly).
func ResticPatterns(home string) []string {
	var out []string
	for _, p := range Patterns() {
		out = append(out, filepath.Join(home, strings.TrimSuffix(p, "/")))
	}
	return out
}

// Excluded reports whether rel, a slash-separated path relative to the home
// root, is left out by a pattern; isDir says whether rel itself is a
// directory. A path under an excluded directory is excluded too.
func Excluded(rel string, isDir bool) bool {
	segs := strings.Split(strings.Trim(rel, "/"), "/")
	for _, p := range Patterns() {
		if matches(p, segs, isDir) {
			return true
		}
	}
	return false
}

// matches applies one anchored pattern to the leading segments of a path.
func matches(pattern string, segs []string, isDir bool) bool {
	dirOnly := strings.HasSuffix(pattern, "/")
	psegs := strings.Split(strings.Trim(pattern, "/"), "/")
	if len(segs) < len(psegs) {
		return false
	}
	for i, ps := range psegs {
		if ok, _ := path.Match(ps, segs[i]); !ok { // the patterns are valid
			return false
		}
	}
	// Matched a proper prefix: that prefix is a directory.
	if len(segs) > len(psegs) {
		return true
	}
	return !dirOnly || isDir
}
