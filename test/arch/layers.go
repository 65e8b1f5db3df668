package arch

// Layers lists bbvault's packages by layer, lowest first. A package may
// import only packages of strictly lower layers, so packages of one layer
// never import each other: archiver, restorer and maintenance stand beside
// each other on the repository, each unaware of the others.
var Layers = [][]string{
	// Foundations: IDs, waiting, progress lines.
	{"internal/blob", "internal/wait", "internal/progress", "internal/redact"},
	// Formats and the storage contract.
	{"internal/chunk", "internal/crypto", "internal/tree", "internal/index", "internal/backend"},
	// Storage backends and their wrappers; the sources a snapshot reads
	// (home, database, Bitbucket, filesystem snapshots, Mesh nodes); file
	// metadata; fitting a restored home to its new place.
	{"internal/backend/local", "internal/backend/s3", "internal/backend/mem", "internal/backend/retry",
		"internal/backend/limit", "internal/backend/faulty", "internal/backend/backendtest",
		"internal/fsmeta", "internal/homewalk", "internal/dbstream", "internal/bitbucket", "internal/fssnap",
		"internal/mesh", "internal/relocate"},
	// Running in production: the config file, metrics, notifications.
	{"internal/config", "internal/metrics", "internal/notify"},
	// The repository engine, its locks, and opening a backend by URL.
	{"internal/repo", "internal/repolock", "internal/backend/location"},
	// Walking a snapshot's trees.
	{"internal/treewalk"},
	// The data path in and out of the repository, and its upkeep; the
	// checks of what a restore wrote (drill).
	{"internal/archiver", "internal/restorer", "internal/maintenance", "internal/drill"},
	// Orchestration: snapshot and restore timelines.
	{"internal/flow"},
	// The command line: flags, printing, exit codes.
	{"cmd/bbvault"},
}
