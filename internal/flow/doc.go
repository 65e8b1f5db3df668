// Package flow orchestrates a Bitbucket snapshot and its restore: the one
// place that sees the repository, the home, the database and the Bitbucket
// client together. It talks to Bitbucket, PostgreSQL and the volumes under
// the home through the ports in ports.go (Locker, Instance, Database,
// DatabaseTarget, FSSnapshot), with adapters over internal/bitbucket,
// internal/dbstream and internal/fssnap beside them (PostgresDatabase,
// CommandDatabase for an administrator's dump command, and their targets).
// node.go is a Mesh node's side of a snapshot (ServeNode, under
// `bbvault node serve`); restorenode.go restores Mesh nodes' homes.
//
// The snapshot timeline (the README's "What it does" tells it to users): a
// pre-lock pass over the live home moves the bulk of the bytes; then lock and
// drain; under the lock, at once (lockedActions, a list of parallel
// actions), the database dump starts from an exported snapshot and either the
// home is walked again, re-reading only what changed, or a filesystem
// snapshot of its volumes is taken; Bitbucket is unlocked once every action
// returned (the database lets go at its export: pg_dump's locks and a
// catalog check follow in the background); with a filesystem snapshot the
// home is then read from it and the snapshot released; the dump goes on
// streaming; the manifest is written last, after everything it names is
// durable. Every exit path after a successful lock unlocks, and every one
// after a filesystem snapshot releases it. Zero-downtime mode takes no
// lock: the database's snapshot, then the filesystem's. The full story:
// docs/filesystem-snapshots.md.
//
// With Mesh nodes (meshnodes.go, behind the MeshNodes port; MeshSSH
// reaches them with internal/mesh over ssh) the coordinator reaches every
// node before the lock (its preflight), refuses to leave out a node
// Bitbucket lists (meshdiscover.go), runs each node's pre-lock pass beside
// the primary's (a node read for the first time after the others, so that
// replicas are stored once), and under the lock every node's locked pass
// as one more action: the lock lasts until the slowest node is done. The
// nodes finish (their packs and index durable) after the unlock, and the
// manifest names every node's tree. Any node failing fails the run: every
// session ends (the nodes stop and drop their locks), Bitbucket is
// unlocked, no manifest is written.
//
// The restore timeline: check that the snapshot holds what is asked for and
// that every target is empty (restore never overwrites); then the home and
// the database at the same time, so a restore takes as long as the slower
// of the two; each runs to its end whatever happens to the other, and the
// result reports both; then the post-restore steps (checks of what was
// restored, changes for a new environment), each once the parts it needs
// restored. AlternatesStep and PropertiesStep (newenv.go) fit a home to a
// new path and database through internal/relocate.
//
// The drill (drill.go) is a restore into scratch areas beside production:
// it refuses a scratch directory inside the live home and the live database
// (drillsafety.go), creates and marks a scratch database, restores both
// parts with AlternatesStep and a step running internal/drill's checks and
// comparing the rows recorded at dump time (dbmeta.go), and removes the
// scratch areas. Its verdict is ErrDamaged, ErrInconsistent or nil.
package flow
