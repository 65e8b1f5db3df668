package homewalk

import (
	"fmt"
	"log/slog"
	"path"
	"strings"

	"bbvault/internal/logs"
)

// Options choose what a snapshot of the home leaves out.
type Options struct {
	// Excludes are user patterns (--exclude), in the syntax of doc.go.
	Excludes []string
	// ExcludeRepos are repository IDs (--exclude-repo) whose directories,
	// shared/data/repositories/<ID> and data/repositories/<ID>, are left out.
	ExcludeRepos []int
	// IncludeLogs keeps log/ and shared/log/, left out by default.
	IncludeLogs bool
	// Logger receives debug records of excluded paths; nil discards them.
	Logger *slog.Logger
}

// defaultExcludeBases are the paths Atlassian's backup scripts leave out,
// relative to the node home; each is also applied under shared/.
var defaultExcludeBases = []string{
	"caches/", "tmp/", "export/", ".lock", "data/db.*", "search/data/", "plugins/.*/",
}

const logExcludeBase = "log/"

// homeForms anchors a base path in both the node-home and shared/ forms.
func homeForms(base string) []string {
	return []string{"/" + base, "/shared/" + base}
}

// DefaultExcludes returns the patterns applied to every snapshot unless
// IncludeLogs drops the two log patterns ("/log/" and "/shared/log/"), in
// the pattern syntax of doc.go, for display and for the snapshot manifest.
func DefaultExcludes() []string {
	var out []string
	for _, base := range append(defaultExcludeBases, logExcludeBase) {
		out = append(out, homeForms(base)...)
	}
	return out
}

// Filter decides which paths under the home are left out. It is safe for
// concurrent use.
type Filter struct {
	patterns []pattern
	log      *slog.Logger
}

// NewFilter compiles the default excludes, the repository excludes and the
// user patterns. A malformed pattern or repository ID is an error that names
// it and says what to fix.
func NewFilter(opts Options) (*Filter, error) {
	f := &Filter{log: opts.Logger}
	f.log = logs.OrDiscard(f.log)
	for _, text := range effectiveDefaults(opts.IncludeLogs) {
		if err := f.add(text); err != nil {
			return nil, fmt.Errorf("built-in exclude: %w", err)
		}
	}
	for _, id := range opts.ExcludeRepos {
		if id <= 0 {
			return nil, fmt.Errorf("--exclude-repo %d: repository IDs are positive integers (the number in shared/data/repositories/<ID>)", id)
		}
		for _, text := range homeForms(fmt.Sprintf("data/repositories/%d/", id)) {
			if err := f.add(text); err != nil {
				return nil, err
			}
		}
	}
	for _, text := range opts.Excludes {
		if err := f.add(text); err != nil {
			return nil, fmt.Errorf("--exclude: %w", err)
		}
	}
	return f, nil
}

func effectiveDefaults(includeLogs bool) []string {
	var out []string
	for _, base := range defaultExcludeBases {
		out = append(out, homeForms(base)...)
	}
	if !includeLogs {
		out = append(out, homeForms(logExcludeBase)...)
	}
	return out
}

func (f *Filter) add(text string) error {
	p, err := compilePattern(text)
	if err != nil {
		return err
	}
	f.patterns = append(f.patterns, p)
	return nil
}

// Patterns returns every pattern in force, defaults first, as written.
func (f *Filter) Patterns() []string {
	out := make([]string, len(f.patterns))
	for i := range f.patterns {
		out[i] = f.patterns[i].text
	}
	return out
}

// Excluded reports whether relPath (relative to the home root, '/'-separated)
// is left out, either itself or because one of its parent directories is.
// isDir says whether relPath is a directory (a symbolic link is not one).
// The root itself ("" or ".") is never excluded.
func (f *Filter) Excluded(relPath string, isDir bool) bool {
	rel := path.Clean("/" + relPath)[1:]
	if rel == "" {
		return false
	}
	segs := strings.Split(rel, "/")
	for k := 1; k <= len(segs); k++ {
		if f.matchAny(segs[:k], k < len(segs) || isDir) {
			return true
		}
	}
	return false
}

// matchAny reports whether the path given as segments matches any pattern,
// without looking at its ancestors.
func (f *Filter) matchAny(segs []string, isDir bool) bool {
	for i := range f.patterns {
		if f.patterns[i].match(segs, isDir) {
			return true
		}
	}
	return false
}

// dirFilter holds the patterns that can match an entry of one directory, so
// that listing a directory of thousands of entries does not try every
// anchored pattern on each of them.
type dirFilter struct {
	segs []string   // the directory's segments plus a slot for the entry
	last []*pattern // anchored at this depth, parents already matched: test the name only
	full []*pattern // unanchored or with "**": test the whole path
}

// forDir prepares the matching of entries of the directory rel ("" for the
// root).
func (f *Filter) forDir(rel string) *dirFilter {
	var parent []string
	if rel != "" {
		parent = strings.Split(rel, "/")
	}
	d := &dirFilter{segs: append(parent, "")}
	for i := range f.patterns {
		p := &f.patterns[i]
		switch {
		case !p.anchored || p.deep:
			d.full = append(d.full, p)
		case len(p.segs) == len(d.segs) && matchSegments(p.segs[:len(parent)], parent):
			d.last = append(d.last, p)
		}
	}
	return d
}

// excluded reports whether the entry name of this directory matches a pattern.
func (d *dirFilter) excluded(name string, isDir bool) bool {
	for _, p := range d.last {
		if (!p.dirOnly || isDir) && p.segs[len(p.segs)-1].match(name) {
			return true
		}
	}
	d.segs[len(d.segs)-1] = name
	for _, p := range d.full {
		if p.match(d.segs, isDir) {
			return true
		}
	}
	return false
}
