package main

import (
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// gcPercent is the garbage collector's target for every command: a
// collection when the heap has grown by a quarter since the last one keeps
// the peak close to what is in use. A restore of a 1.3 GiB home peaked at
// 164 MiB with 50, 139 MiB with 25 and 125 MiB with 10, but 10 cost 9% more
// CPU there: a restore allocates many small objects (trees, its plan) that
// each collection scans.
const gcPercent = 25

// snapshotGCPercent is the target while a snapshot runs: a backup streams
// gigabytes through buffers it recycles, which hold no pointers and cost a
// collection nothing to scan, and allocates little else. An initial
// snapshot of that home peaked at 131 MiB with 10 and 161 MiB with 25, for
// the same CPU time.
const snapshotGCPercent = 10

// setupMemory tunes the garbage collector before any command runs. GOGC in
// the environment wins, here and in useGCPercent.
func setupMemory(getenv func(string) string) {
	useGCPercent(gcPercent, getenv)
}

// useGCPercent sets the collector's target unless GOGC is set.
func useGCPercent(p int, getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(p)
	}
}

// cgroupLimitFiles are where a container's memory limit is read: cgroup v2,
// then v1.
var cgroupLimitFiles = []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}

// applyMemoryLimit sets the Go runtime's soft memory limit, so that the
// garbage collector works harder before the process outgrows its machine:
// --memory-limit (MiB) or BBVAULT_MEMORY_LIMIT; else GOMEMLIMIT, which the
// runtime has read already; else 80% of the cgroup's limit (the rest is
// for SQLite's page cache, the chunk buffers outside the heap and the
// runtime's own overhead). It returns the limit in bytes, 0 for none.
func applyMemoryLimit(mib int, getenv func(string) string) int64 {
	if mib > 0 {
		limit := int64(mib) << 20
		debug.SetMemoryLimit(limit)
		return limit
	}
	if getenv("GOMEMLIMIT") != "" {
		return debug.SetMemoryLimit(-1)
	}
	if cg := cgroupLimit(cgroupLimitFiles); cg > 0 {
		limit := cg / 5 * 4
		debug.SetMemoryLimit(limit)
		return limit
	}
	return 0
}

// cgroupLimit reads the first of the cgroup limit files that exists: 0
// when none does, or it says "max" (v2) or a number near 2^63 (v1).
func cgroupLimit(paths []string) int64 {
	for _, path := range paths {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil || n <= 0 || n >= 1<<60 {
			return 0
		}
		return n
	}
	return 0
}

// releaseKeyMemory hands back to the system the 32 MiB or more that
// deriving the key from the password (scrypt) used, at once rather than
// over the next minutes: otherwise it adds to the peak of what follows.
func releaseKeyMemory() { debug.FreeOSMemory() }
