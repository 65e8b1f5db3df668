package index

import (
	"errors"
	"time"

	"bbvault/internal/blob"
)

// ErrNotFound is returned (wrapped) when a named snapshot or index file is
// not in the cache.
var ErrNotFound = errors.New("not in index cache")

// ErrCorrupt is returned (wrapped) when SQLite reports the cache file as
// damaged. The cache can always be rebuilt: remove the file (or reopen it,
// which moves a damaged file aside) and run Sync.
var ErrCorrupt = errors.New("index cache is corrupt")

// BlobEntry is one blob inside a pack.
type BlobEntry struct {
	ID   blob.ID
	Type blob.Type
	// Offset is where the blob's stored bytes start in the pack.
	Offset uint32
	// Length is the stored (compressed and encrypted) length in the pack.
	Length uint32
	// RawLength is the plaintext length.
	RawLength uint32
}

// Pack is a pack object as an index object lists it.
type Pack struct {
	ID    blob.ID
	Size  int64
	Type  blob.Type
	Blobs []BlobEntry
}

// Location says where one copy of a blob is stored.
type Location struct {
	Pack blob.ID
	BlobEntry
}

// SnapshotRow is a cached snapshot manifest. The manifest is opaque to this
// package (JSON owned by package repo); ID, Time and Host are copied out of
// it so that listings need not decode every manifest.
type SnapshotRow struct {
	ID       string
	Time     time.Time // returned in UTC; compare with Time.Equal
	Host     string
	Manifest []byte
}

// Stats sums up what the cache holds.
type Stats struct {
	Blobs       int   // distinct blob IDs
	BlobEntries int   // blob rows, counting a blob once per pack that holds it
	Packs       int   // distinct packs
	IndexFiles  int   // ingested index objects
	PackBytes   int64 // total size of the distinct packs
	RawBytes    int64 // plaintext bytes of the distinct blobs (first copy of each)
}
