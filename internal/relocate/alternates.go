package relocate

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ReposPath is where Bitbucket keeps its repositories, relative to the home.
const ReposPath = "shared/data/repositories"

// AlternatesChange is one alternates entry rewritten.
type AlternatesChange struct {
	Repository string `json:"repository"` // the repository's directory name (its ID)
	Old        string `json:"old"`
	New        string `json:"new"`
}

// AlternatesResult is what Alternates found and did.
type AlternatesResult struct {
	Files     int                `json:"files"`     // alternates files read
	Rewritten []AlternatesChange `json:"rewritten"` // entries that named the old home
	// Outside are absolute entries that name neither the old home nor the
	// new one ("ID: path"), left as they were: the repository borrows
	// objects from outside the home.
	Outside []string `json:"outside"`
}

// Alternates rewrites, in every repository of the home, the entries of
// objects/info/alternates that name a path under oldHome to the same path
// under home. Relative entries, comments and entries that already name the
// new home are left as they are.
func Alternates(ctx context.Context, home, oldHome string) (AlternatesResult, error) {
	res := AlternatesResult{Rewritten: []AlternatesChange{}, Outside: []string{}}
	home, oldHome = filepath.Clean(home), filepath.Clean(oldHome)
	if home == oldHome {
		return res, nil
	}
	files, err := filepath.Glob(filepath.Join(home, filepath.FromSlash(ReposPath), "*", "objects", "info", "alternates"))
	if err != nil {
		return res, fmt.Errorf("listing alternates files: %w", err)
	}
	sort.Strings(files)
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		res.Files++
		if err := rewriteAlternates(f, home, oldHome, &res); err != nil {
			return res, err
		}
	}
	return res, nil
}

// rewriteAlternates rewrites one alternates file, if any entry changes.
func rewriteAlternates(path, home, oldHome string, res *AlternatesResult) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	repo := filepath.Base(filepath.Dir(filepath.Dir(filepath.Dir(path))))
	var out []byte
	changed := false
	for _, line := range bytes.SplitAfter(data, []byte("\n")) {
		entry := strings.TrimRight(string(line), "\r\n")
		eol := string(line[len(entry):])
		switch {
		case !filepath.IsAbs(entry) || underNew(entry, home, oldHome):
		case within(entry, oldHome):
			moved := home + strings.TrimPrefix(entry, oldHome)
			res.Rewritten = append(res.Rewritten, AlternatesChange{Repository: repo, Old: entry, New: moved})
			line, changed = []byte(moved+eol), true
		default:
			res.Outside = append(res.Outside, repo+": "+entry)
		}
		out = append(out, line...)
	}
	if !changed {
		return nil
	}
	return replaceFile(path, out)
}

// underNew reports whether entry already names the new home: with one home
// inside the other, the longer path decides.
func underNew(entry, home, oldHome string) bool {
	if within(entry, oldHome) && len(oldHome) > len(home) {
		return false
	}
	return within(entry, home)
}

// within reports whether path is dir or below it.
func within(path, dir string) bool {
	return path == dir || strings.HasPrefix(path, dir+string(filepath.Separator))
}
