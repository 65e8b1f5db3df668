// Package servers starts and stops the real servers bbvault's tests and
// benchmarks run against, outside of any test framework: a PostgreSQL
// cluster, a single-drive MinIO and a Prometheus Pushgateway, each bound to
// 127.0.0.1 on a free port, with random credentials where the server has
// any, and a throwaway directory. It owns the plumbing they share: finding
// the binaries (a missing one is ErrMissing, with a hint to run
// scripts/install-test-deps.sh), running a server in its own process group
// with SIGKILL when its parent dies, waiting until it answers, free ports,
// random names, and the scratch directories under os.TempDir() that carry
// the owner's process ID so that SweepStale can remove what a killed run
// left (PostgreSQL's shared memory included).
//
// Credentials reach the servers through their environment or files, never
// their command lines, and are redacted from the log excerpts in errors.
//
// test/testenv wraps this package for `go test` (one lazily started server
// of each kind per test binary, skip or fail when one is missing); the
// benchmark harness (bench/cmd/benchrun) calls it directly.
package servers
