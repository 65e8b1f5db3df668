package testenv

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// sweepOnce removes stale data directories once per test binary.
var sweepOnce sync.Once

// sweepStale removes data directories whose test binary no longer runs
// (one killed before Main could clean up). It is best effort: whatever it
// cannot remove now, a later run tries again.
func sweepStale() {
	entries, err := os.ReadDir(os.TempDir())
	if err != nil {
		return
	}
	for _, e := range entries {
		pid, ok := dirOwner(e.Name())
		if ok && pid != os.Getpid() && !processAlive(pid) {
			dir := filepath.Join(os.TempDir(), e.Name())
			// The directory names the segment: keep it until the segment is
			// gone (a dying server's processes may still be attached).
			if removeStaleShm(dir) {
				_ = os.RemoveAll(dir)
			}
		}
	}
}

// dirOwner parses the process ID out of a testenv data directory name.
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
