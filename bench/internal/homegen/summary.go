package homegen

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"bbvault/bench/internal/excludes"
)

// Summary describes a home: everything in it, and the part a backup keeps.
type Summary struct {
	Files        int64          `json:"files"`         // regular files
	Bytes        int64          `json:"bytes"`         // their sizes
	Dirs         int64          `json:"dirs"`          // directories
	BackupFiles  int64          `json:"backup_files"`  // files outside the excluded paths
	BackupBytes  int64          `json:"backup_bytes"`  // their sizes
	LooseObjects int64          `json:"loose_objects"` // files under objects/xx/ of the repositories
	Packs        int64          `json:"packs"`         // pack files
	LooseRefs    int64          `json:"loose_refs"`    // files under refs/ of the repositories
	Kinds        map[string]int `json:"repo_kinds,omitempty"`
	Took         time.Duration  `json:"took_ns,omitempty"`
}

// Summarize walks a home and counts what it holds.
func Summarize(home string) (Summary, error) {
	var s Summary
	err := filepath.WalkDir(home, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(home, path) // path is under home
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			s.Dirs++
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		s.count(rel, info.Size())
		return nil
	})
	if err != nil {
		return s, fmt.Errorf("homegen: summarize %s: %w", home, err)
	}
	return s, nil
}

func (s *Summary) count(rel string, size int64) {
	s.Files++
	s.Bytes += size
	if !excludes.Excluded(rel, false) {
		s.BackupFiles++
		s.BackupBytes += size
	}
	inRepo, ok := strings.CutPrefix(rel, reposDir+"/")
	if !ok {
		return
	}
	parts := strings.Split(inRepo, "/")
	switch {
	case len(parts) == 4 && parts[1] == "objects" && len(parts[2]) == 2:
		s.LooseObjects++
	case len(parts) == 4 && parts[1] == "objects" && parts[2] == "pack" && strings.HasSuffix(parts[3], ".pack"):
		s.Packs++
	case len(parts) > 2 && parts[1] == "refs":
		s.LooseRefs++
	}
}

func itoa(i int) string { return fmt.Sprint(i) }
