// Package chunk splits streams into content-defined chunks.
//
// It wraps restic/chunker (Rabin fingerprints over a 64-byte window) with the
// repository's random polynomial, so that the same bytes split at the same
// places whatever their offset in a stream: an insertion near the start of a
// pg_dump or a git pack shifts only the chunks around it. Chunk buffers come
// from a bounded set of mappings with room for the largest chunk, of which
// only what a chunk writes is resident, so memory stays flat however long the
// stream is; a caller returns each buffer with Release when done with it.
package chunk
