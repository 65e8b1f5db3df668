// Package backend defines the storage interface every repository backend
// implements (memory, local directory, S3) and the errors they return.
//
// A backend stores immutable named objects. Names are slash-separated keys
// such as "config", "keys/<id>", "data/ab/<id>", "index/<id>" or
// "snapshots/<id>". Backends know nothing about encryption, packs or
// deduplication: that is the job of package repo. A Put killed half-way
// may leave a leftover beside the objects (a temporary file, an incomplete
// multipart upload); Leftovers lists and RemoveLeftover removes them. Retries, concurrency limits
// and fault injection are wrappers around a Backend, so the backends stay
// plain.
package backend
