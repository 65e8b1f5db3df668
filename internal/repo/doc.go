// Package repo is the repository engine: an encrypted, deduplicated,
// content-addressed store of blobs on a backend (local directory or S3).
//
// It owns the on-disk format (docs/FORMAT.md): the config object, key files,
// packs of encrypted blobs with a header at the end, index objects listing
// which blob lives where, and snapshot manifests. Its face has three parts:
//
//   - the data path, on *Repository: a Writer saves streams and trees
//     (chunk → ID → dedup → compress → encrypt → pack → upload; packs before
//     index, index before manifests); LoadBlob, LoadTree, NewStreamReader and
//     the pack-planned reads (Locate, OpenPackRange, DecodeBlob) bring them
//     back, verifying every blob against its ID; manifests are saved, listed
//     and deleted here;
//   - the pack layer, *Packs (r.Packs()): pack objects and the index objects
//     that list them, the primitives prune, check and repair build on;
//   - Classify, the one place that tells damaged or missing data from a
//     failure to reach it;
//   - damage records (damage.go, damageobj.go): what any read found damaged
//     or missing is recorded in the repository (damage/) and the cache, and
//     the writer never deduplicates against a blob whose every copy is
//     recorded bad (suspect.go): the next snapshot stores it again.
//
// The local SQLite index (package index) is a cache kept in line with the
// repository's index objects; nothing outside this package reaches it.
// Repository locks are package repolock's, sealed through SealJSON.
//
// Package repo knows nothing of Bitbucket, PostgreSQL or home directories:
// it stores streams and trees that others hand to it.
package repo
