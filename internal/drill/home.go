package drill

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// ReposPath is where Bitbucket keeps repositories, relative to the home.
const ReposPath = "shared/data/repositories"

// repoDirs lists the repository directories of a home by ID: the
// directories under shared/data/repositories whose name is a number.
func repoDirs(home string) (map[int]string, error) {
	root := filepath.Join(home, filepath.FromSlash(ReposPath))
	entries, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return map[int]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing repositories: %w", err)
	}
	dirs := map[int]string{}
	for _, e := range entries {
		id, err := strconv.Atoi(e.Name())
		if err != nil || id <= 0 || !e.IsDir() {
			continue
		}
		dirs[id] = filepath.Join(root, e.Name())
	}
	return dirs, nil
}

// alternates reads the entries of a repository's objects/info/alternates;
// none when it has no such file.
func alternates(dir string) ([]string, error) {
	data, err := os.ReadFile(filepath.Join(dir, "objects", "info", "alternates"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading alternates: %w", err)
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out, sc.Err()
}

// checkAlternates checks the alternates of repository id: every entry must
// be the objects directory of a repository of the restored home, present,
// and of the fork's hierarchy when the database knows it.
func checkAlternates(home string, id int, dir string, entries []string, c *catalog) []Problem {
	var out []Problem
	bad := func(format string, args ...any) {
		out = append(out, Problem{Kind: KindAlternates, Class: Inconsistent, Repository: id,
			Message: fmt.Sprintf(format, args...)})
	}
	for _, e := range entries {
		target := e
		if !filepath.IsAbs(target) {
			target = filepath.Join(dir, "objects", target)
		}
		target = filepath.Clean(target)
		other, inside := repoOfObjects(home, target)
		switch {
		case !inside:
			bad("alternates entry %s is outside the restored home's repositories", e)
		case !isDir(target):
			bad("alternates entry %s points nowhere (no such directory)", e)
		case other == id:
			bad("alternates entry %s points at the repository itself", e)
		case len(c.repos) > 0 && c.repos[id].Origin != 0 && !c.inHierarchy(id, other):
			bad("alternates point at repository %d, which is not in its fork hierarchy (origin_id %d)", other, c.repos[id].Origin)
		}
	}
	return out
}

// repoOfObjects tells which repository's objects directory path is; inside
// is false for a path that is not <home>/shared/data/repositories/<id>/objects.
func repoOfObjects(home, path string) (id int, inside bool) {
	root := filepath.Join(home, filepath.FromSlash(ReposPath)) + string(filepath.Separator)
	rest, ok := strings.CutPrefix(path, root)
	if !ok {
		return 0, false
	}
	name, objects, _ := strings.Cut(rest, string(filepath.Separator))
	id, err := strconv.Atoi(name)
	if err != nil || objects != "objects" {
		return 0, false
	}
	return id, true
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// sortedKeys returns the keys of m in order.
func sortedKeys[K int | string, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	return keys
}
