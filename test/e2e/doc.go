// Package e2e holds end-to-end tests that drive the real bbvault binary as a
// user does: init, snapshot, snapshots, ls and restore against homes built
// with real git (bbvault/test/fixture), on a local repository and on MinIO,
// then compare the restored tree with its source entry by entry and run git
// fsck in every restored repository.
//
// The tests build the binary once per test run (go build bbvault/cmd/bbvault)
// into a temporary directory named after the process, removed by the next
// run once the process is gone. Every command gets its own repository,
// cache and state directories and reads the password from the environment.
package e2e
