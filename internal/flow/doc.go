// Package flow orchestrates a Bitbucket snapshot: the one place that sees
// the repository, the home walker, the database stream and the Bitbucket
// client together.
//
// The timeline (docs in ../../shared/docs/design-notes.md): a pre-lock pass
// over the live home moves the bulk of the bytes; then lock and drain; under
// the lock the database dump starts from an exported snapshot and the home is
// walked again, re-reading only what changed; once pg_dump holds its snapshot
// and the locked pass is done, Bitbucket is unlocked while the dump goes on
// streaming; the manifest is written last, after everything it names is
// durable. Every exit path after a successful lock unlocks.
package flow
