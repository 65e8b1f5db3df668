package main

import (
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"bbvault/bench/internal/excludes"
)

// sampleEvery is how often a file's content is compared (every Nth regular
// file, in path order); the others are compared by kind, mode and size.
const sampleEvery = 25

// fittedFile is the file a restore onto a new database may rewrite
// (bbvault restore --db-target points jdbc.* at the new database and keeps
// the old lines, commented): it must keep every line of the original, as it
// was or commented out, and is not compared byte by byte.
const fittedFile = "shared/bitbucket.properties"

// entry is what the check compares of one path.
type entry struct {
	mode fs.FileMode
	size int64
	link string
}

// listHome lists a home's entries, excluded paths left out, by relative path.
func listHome(root string) (map[string]entry, error) {
	out := map[string]entry{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path) // path is under root
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if excludes.Excluded(rel, d.IsDir()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		return addEntry(out, path, rel, d)
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", root, err)
	}
	return out, nil
}

func addEntry(out map[string]entry, path, rel string, d fs.DirEntry) error {
	info, err := d.Info()
	if err != nil {
		return err
	}
	e := entry{mode: info.Mode()}
	switch {
	case info.Mode().IsRegular():
		e.size = info.Size()
	case info.Mode()&fs.ModeSymlink != 0:
		if e.link, err = os.Readlink(path); err != nil {
			return err
		}
	}
	out[rel] = e
	return nil
}

// compareHomes checks a restored home against the source: the same paths
// with the same kinds, modes, sizes and link targets, and the same content
// for every every-th regular file. It returns a short verdict.
func compareHomes(src, restored string, every int) string {
	want, err := listHome(src)
	if err != nil {
		return "check failed: " + err.Error()
	}
	got, err := listHome(restored)
	if err != nil {
		return "check failed: " + err.Error()
	}
	paths := make([]string, 0, len(want))
	for p := range want {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	if msg := compareEntries(want, got, paths); msg != "" {
		return msg
	}
	sampled, msg := compareSample(src, restored, want, paths, every)
	if msg != "" {
		return msg
	}
	return fmt.Sprintf("ok: %d entries, %d contents compared", len(want), sampled)
}

func compareEntries(want, got map[string]entry, paths []string) string {
	for _, p := range paths {
		g, ok := got[p]
		switch {
		case !ok:
			return "MISSING " + p
		case p == fittedFile && g.mode == want[p].mode:
		case g != want[p]:
			return fmt.Sprintf("DIFFERS %s: %+v, want %+v", p, g, want[p])
		}
	}
	if len(got) != len(want) {
		for p := range got {
			if _, ok := want[p]; !ok {
				return "EXTRA " + p
			}
		}
	}
	return ""
}

func compareSample(src, restored string, want map[string]entry, paths []string, every int) (int, string) {
	sampled, regular := 0, 0
	for _, p := range paths {
		if !want[p].mode.IsRegular() {
			continue
		}
		regular++
		if p == fittedFile {
			if msg := keepsLines(filepath.Join(src, p), filepath.Join(restored, p)); msg != "" {
				return sampled, msg
			}
			sampled++
			continue
		}
		if (regular-1)%every != 0 {
			continue
		}
		a, errA := fileHash(filepath.Join(src, p))
		b, errB := fileHash(filepath.Join(restored, p))
		if errA != nil || errB != nil {
			return sampled, fmt.Sprintf("check failed: %v %v", errA, errB)
		}
		if a != b {
			return sampled, "CONTENT DIFFERS " + p
		}
		sampled++
	}
	return sampled, ""
}

func fileHash(path string) ([32]byte, error) {
	var sum [32]byte
	f, err := os.Open(path)
	if err != nil {
		return sum, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return sum, err
	}
	copy(sum[:], h.Sum(nil))
	return sum, nil
}

// keepsLines checks that every line of the file at src is in the file at
// restored, as it was or commented out.
func keepsLines(src, restored string) string {
	a, errA := os.ReadFile(src)
	b, errB := os.ReadFile(restored)
	if errA != nil || errB != nil {
		return fmt.Sprintf("check failed: %v %v", errA, errB)
	}
	kept := map[string]bool{}
	for _, l := range strings.Split(string(b), "\n") {
		kept[strings.TrimSpace(strings.TrimLeft(l, "#! "))] = true
	}
	for _, l := range strings.Split(string(a), "\n") {
		if l = strings.TrimSpace(strings.TrimLeft(l, "#! ")); l != "" && !kept[l] {
			return fmt.Sprintf("CONTENT DIFFERS %s: line %q is gone", fittedFile, l)
		}
	}
	return ""
}
