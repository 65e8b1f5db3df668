package servers

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// dirPrefix starts the name of every directory NewDir creates; the process
// ID that follows lets a later run remove what a killed run left.
const dirPrefix = "bbvault-run-"

// NewDir creates a fresh directory for kind ("postgres", "minio", "work")
// under os.TempDir(), named after this process so that SweepStale can
// remove it once this process is gone. The caller removes it when done.
func NewDir(kind string) (string, error) {
	dir, err := os.MkdirTemp("", fmt.Sprintf("%s%d-%s-", dirPrefix, os.Getpid(), kind))
	if err != nil {
		return "", fmt.Errorf("create a %s directory: %w", kind, err)
	}
	return dir, nil
}

// SweepStale removes the directories NewDir made for processes that no
// longer run (killed before they could clean up), and the shared memory a
// killed PostgreSQL left in them; it returns what it removed. A directory
// whose segment is still attached (its server is still dying) is left for
// a later sweep.
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
		if !removeStaleShm(dir) {
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, dir)
	}
	return removed, errors.Join(errs...)
}

// dirOwner parses the process ID out of a directory name made by NewDir.
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

// processAlive reports whether a process with this ID exists.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// removeStaleShm removes the System V shared memory segment a killed
// postmaster leaves behind. postmaster.pid names it (line 7: key and ID);
// it is removed only if it still has that key and nothing is attached. It
// reports false while the segment exists and is still attached.
func removeStaleShm(dir string) bool {
	key, id, ok := postmasterShm(filepath.Join(dir, "data", "postmaster.pid"))
	if !ok {
		return true
	}
	var desc unix.SysvShmDesc
	if _, err := unix.SysvShmCtl(id, unix.IPC_STAT, &desc); err != nil || int64(desc.Perm.Key) != key {
		return true
	}
	if desc.Nattch > 0 {
		return false
	}
	_, _ = unix.SysvShmCtl(id, unix.IPC_RMID, nil) // best effort, like the sweep
	return true
}

// postmasterShm reads the shared memory key and ID from a postmaster.pid.
func postmasterShm(pidFile string) (key int64, id int, ok bool) {
	data, err := os.ReadFile(pidFile)
	if err != nil {
		return 0, 0, false
	}
	lines := strings.Split(string(data), "\n")
	if len(lines) < 7 {
		return 0, 0, false
	}
	fields := strings.Fields(lines[6])
	if len(fields) != 2 {
		return 0, 0, false
	}
	key, errKey := strconv.ParseInt(fields[0], 10, 64)
	id, errID := strconv.Atoi(fields[1])
	return key, id, errKey == nil && errID == nil
}
