package restorer

import "bytes"

// holePage is the granularity of holes: whole pages of zeros, aligned to
// the file's offsets, are skipped rather than written, so a sparse file is
// restored sparse. The file's length is set when it is complete.
const holePage = 4096

var zeroPage [holePage]byte

// writeSparse writes data at off in f, leaving out every page-aligned run
// of zeros, and returns the offset just past the last byte it wrote (0 when
// it wrote none). Checking a page that is not zero stops at its first
// non-zero byte, so ordinary data costs next to nothing.
func writeSparse(f *rawFile, data []byte, off int64) (int64, error) {
	var end int64
	start := -1 // start of the run of non-zero pages being gathered
	for i := 0; i < len(data); {
		next := min(len(data), i+holePage-int((off+int64(i))%holePage))
		zero := next-i == holePage && bytes.Equal(data[i:next], zeroPage[:])
		switch {
		case !zero && start < 0:
			start = i
		case zero && start >= 0:
			if err := f.writeAt(data[start:i], off+int64(start)); err != nil {
				return end, err
			}
			start, end = -1, off+int64(i)
		}
		i = next
	}
	if start >= 0 {
		if err := f.writeAt(data[start:], off+int64(start)); err != nil {
			return end, err
		}
		end = off + int64(len(data))
	}
	return end, nil
}
