// Package synth builds a synthetic repository of tens of millions of blobs
// for the scale benchmark (bench/cmd/scalebench) without the data: a real
// config and key, index rows written straight into bbvault's cache with a
// placeholder object in the repository for each index object (so the
// cache and the repository agree and Sync has nothing to do), pack objects
// as sparse files of the right size, and one real snapshot whose trees use
// most of the blobs. bbvault can open it, snapshot beside it and plan a
// prune of it; nothing may read the data packs or the placeholder index
// objects (a restore, check --read-data or an index rebuild would fail).
package synth
