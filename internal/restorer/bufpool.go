package restorer

import (
	"math/bits"
	"sync"
)

// Buffers for stored blobs are recycled, so that a restore of many
// gigabytes does not allocate them all. Sizes are rounded up to an eighth
// of their power of two (at most 12.5% of a buffer is wasted, and there
// are few sizes to keep), and the free ones are kept up to a cap in bytes:
// what the pool holds beside the memory budget is bounded too.
const (
	minBuf = 4 << 10
	maxBuf = 16 << 20 // larger buffers are not kept
)

type bufPool struct {
	mu    sync.Mutex
	free  map[int][][]byte // by capacity
	bytes int64            // held in free
	cap   int64
}

func newBufPool(capBytes int64) *bufPool {
	return &bufPool{free: map[int][][]byte{}, cap: capBytes}
}

// bufSize is the capacity of the buffer get(n) returns.
func bufSize(n int) int {
	if n <= minBuf {
		return minBuf
	}
	step := 1 << max(12, bits.Len(uint(n-1))-3)
	return (n + step - 1) &^ (step - 1)
}

// get returns a buffer of length n.
func (p *bufPool) get(n int) []byte {
	size := bufSize(n)
	p.mu.Lock()
	if list := p.free[size]; len(list) > 0 {
		b := list[len(list)-1]
		list[len(list)-1] = nil // or the list would keep it from the collector once dropped
		p.free[size] = list[:len(list)-1]
		p.bytes -= int64(size)
		p.mu.Unlock()
		return b[:n]
	}
	p.mu.Unlock()
	return make([]byte, n, size)
}

// put gives back a buffer from get; nil is ignored, and so is a buffer
// that would take the pool over its cap.
func (p *bufPool) put(b []byte) {
	size := cap(b)
	if b == nil || size > maxBuf || size != bufSize(size) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bytes+int64(size) > p.cap {
		return
	}
	p.free[size] = append(p.free[size], b[:0])
	p.bytes += int64(size)
}
