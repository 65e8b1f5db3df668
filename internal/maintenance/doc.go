// Package maintenance owns what keeps a repository lean and trustworthy:
// the retention policy (which snapshots to keep), prune (forget the others,
// then mark every blob the kept snapshots use and sweep the rest: delete
// packs nothing uses, repack partly used ones, rewrite the index objects
// that listed them), check (the structure, and with ReadData every byte,
// recording the damage it finds) and repair (rebuild the index from the pack
// headers, salvage the intact blobs of damaged packs, rewrite the snapshots
// that use lost data; new objects before any deletion, so it can be killed
// at any point).
//
// It builds on the repository's pack layer (repo.Packs) and manifests only,
// walks trees with package treewalk, and leaves the judgement of what is
// damage to repo.Classify. Callers hold the repository lock: exclusive for
// Prune and Repair, shared (at least) for Check and a dry-run Repair.
package maintenance
