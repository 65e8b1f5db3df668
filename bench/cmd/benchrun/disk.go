package main

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// homeCopies estimates how many copies of the home a tool keeps at one
// destination by the end of a run: its repository, and for the DIY flow
// its staging copy plus three archives (and the archive before its upload).
var homeCopies = map[string]map[string]float64{
	"local": {"bbvault": 1, "restic": 1, "restic18": 1, "diy": 4},
	"s3":    {"bbvault": 1, "restic": 1, "restic18": 1, "diy": 5},
}

// diskNeeded estimates the disk a run needs: the home, the copies every
// tool keeps, one restore at a time (DIY's: the extracted archive and the
// target), and the database with a restored copy and a dump.
func diskNeeded(c config) int64 {
	copies := 3.0
	for _, d := range c.dests {
		for _, t := range c.tools {
			copies += homeCopies[d][t]
		}
	}
	return int64(copies*float64(c.homeBytes)) + 3*c.dbBytes
}

// checkDisk refuses a run that would fill the disk holding dir.
func checkDisk(c config, dir string) error {
	for {
		if _, err := os.Stat(dir); err == nil || dir == filepath.Dir(dir) {
			break
		}
		dir = filepath.Dir(dir)
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return fmt.Errorf("free space under %s: %w", dir, err)
	}
	free, need := int64(st.Bavail)*int64(st.Bsize), diskNeeded(c)
	if need > free {
		return fmt.Errorf("this run needs about %s of disk under %s and %s is free: "+
			"run the destinations one at a time (--dests local, then --dests s3), "+
			"give a smaller --home-size, or point --work elsewhere", human(need), dir, human(free))
	}
	return nil
}
