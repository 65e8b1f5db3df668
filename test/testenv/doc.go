// Package testenv is what bbvault's tests use to reach real servers and
// tools: one MinIO and one PostgreSQL per test binary, started on first use
// through test/servers (which owns starting, stopping and cleaning up after
// them) and stopped when the test binary ends; a fresh bucket or database
// per test (NewBucket, NewDB); a fresh Pushgateway per test; the git
// binary; and a bbvault binary built once per test binary (Bbvault).
//
// A test package that uses MinIO, Postgres or Bbvault must hand its TestMain
// to Main:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
//
// Main stops the servers and removes the directories testenv made when the
// tests end, and first removes what killed test binaries left. Servers run
// in their own process group and are killed by the kernel if the test binary
// dies, so a killed `go test` leaves no server behind.
//
// A missing binary (minio, PostgreSQL, git) skips the test with a hint to run
// scripts/install-test-deps.sh, and fails it when the CI environment variable
// is set (Need): a server missing in CI is a broken setup, never a skipped
// test.
package testenv
