package servers

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// dirPrefix starts the name of every directory a run creates under the
// system's temporary directory; the process ID that follows lets a later run
// remove what a killed run left behind.
const dirPrefix = "bbvault-bench-"

// TempDir creates a fresh directory for kind ("work", "pg") under the
// system's temporary directory, named after this process.
func TempDir(kind string) (string, error) {
	dir, err := os.MkdirTemp("", fmt.Sprintf("%s%d-%s-", dirPrefix, os.Getpid(), kind))
	if err != nil {
		return "", fmt.Errorf("create a %s directory: %w", kind, err)
	}
	return dir, nil
}

// SweepStale removes the directories of runs whose process no longer
// exists (killed before they could clean up), and returns what it removed.
func SweepStale() ([]string, error) {
	entries, err := os.ReadDir(os.TempDir())
	if err != nil {
		return nil, fmt.Errorf("sweep %s: %w", os.TempDir(), err)
	}
	var removed []string
	var errs []error
	for _, e := range entries {
		pid, ok := dirOwner(e.Name())
		if !ok || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		dir := filepath.Join(os.TempDir(), e.Name())
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, dir)
	}
	return removed, errors.Join(errs...)
}

// dirOwner parses the process ID out of a directory name made by TempDir.
func dirOwner(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, dirPrefix)
	if !ok {
		return 0, false
	}
	pidText, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	pid, err := strconv.Atoi(pidText)
	return pid, err == nil && pid > 0
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
