// Package servers starts the throwaway servers a benchmark run needs outside
// `go test` (test/testenv only works under testing.M): a PostgreSQL cluster
// and a MinIO, each on a free 127.0.0.1 port with random credentials and a
// data directory under the run's work directory, plus a small reverse proxy
// in front of MinIO that counts the S3 requests each tool makes.
//
// Servers run in their own process group and get SIGKILL if the benchmark
// dies, so a killed run leaves no server behind. Credentials reach the
// servers through their environment or files, never their arguments.
package servers
