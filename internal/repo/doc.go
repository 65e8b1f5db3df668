// Package repo is the repository engine: an encrypted, deduplicated,
// content-addressed store of blobs on a backend (local directory or S3).
//
// It owns the on-disk format (docs/FORMAT.md): the config object, key files,
// packs of encrypted blobs with a header at the end, index objects listing
// which blob lives where, and snapshot manifests. Writers go through a Writer
// (chunk → ID → dedup → compress → encrypt → pack → upload, packs before
// index, index before manifests); readers through LoadBlob and NewStreamReader,
// which verify every blob against its ID. The local SQLite index (package
// index) is a cache kept in line with the repository's index objects.
//
// Package repo knows nothing of Bitbucket, PostgreSQL or home directories:
// it stores streams and trees that others hand to it.
package repo
