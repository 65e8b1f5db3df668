// Package testenv starts the real servers bbvault's tests run against: one
// MinIO and one PostgreSQL per test binary, started on first use, bound to
// 127.0.0.1 on free ports, with throwaway data directories and random
// credentials, and stopped when the test binary ends.
//
// A test package that uses MinIO or Postgres must hand its TestMain to Main:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
//
// Servers run in their own process group and are killed by the kernel if the
// test binary dies, so a killed `go test` leaves no server behind; data
// directories left by such a run are removed by the next one.
//
// A missing binary (minio, PostgreSQL, git) skips the test with a hint to run
// scripts/install-test-deps.sh, and fails it when the CI environment variable
// is set: a server missing in CI is a broken setup, never a skipped test.
package testenv
