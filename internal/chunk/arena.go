package chunk

import (
	"sync"

	"golang.org/x/sys/unix"
)

// A chunk buffer is a reservation of address space, not of memory: an
// anonymous mapping of bufferSpan bytes, of which the kernel backs only the
// pages written. A chunk of any size up to MaxSize, and its sealed copy
// behind it, fit without the buffer ever growing (restic/chunker appends,
// so a heap buffer too small for a 7 MiB chunk went through five arrays,
// and those arrays were most of a no-change snapshot's peak), and a buffer
// gives back what a large chunk touched beyond keepResident when it is
// released. The mappings live outside the Go heap and are never unmapped:
// they are kept for the next chunks, process-wide, and there are never
// more of them than chunks in flight at once.
const (
	bufferSpan   = 2*MaxSize + 1<<20
	keepResident = BufferCap
)

// arena is the process's free chunk buffers.
var arena struct {
	mu   sync.Mutex
	free [][]byte
}

// takeSpan returns a free buffer of bufferSpan capacity, mapping a new one
// when none is free (a heap buffer when mapping fails).
func takeSpan() []byte {
	arena.mu.Lock()
	if n := len(arena.free); n > 0 {
		b := arena.free[n-1]
		arena.free[n-1] = nil
		arena.free = arena.free[:n-1]
		arena.mu.Unlock()
		return b
	}
	arena.mu.Unlock()
	b, err := unix.Mmap(-1, 0, bufferSpan, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		// A heap buffer, told apart by its capacity: not reused.
		return make([]byte, 0, heapSpan)
	}
	return b[:0]
}

// heapSpan is the capacity of a buffer on the heap, when mapping failed.
const heapSpan = bufferSpan - 1

// giveSpan takes back a buffer of which the first used bytes may have been
// written: pages past keepResident go back to the kernel (reading them
// again gives zeros, which nothing relies on).
func giveSpan(b []byte, used int) {
	if cap(b) != bufferSpan {
		return // on the heap: the collector's
	}
	if used > keepResident {
		page := unix.Getpagesize()
		end := min((used+page-1)/page*page, cap(b))
		_ = unix.Madvise(b[keepResident:end:end], unix.MADV_DONTNEED) // only memory is at stake
	}
	arena.mu.Lock()
	defer arena.mu.Unlock()
	arena.free = append(arena.free, b[:0])
}
