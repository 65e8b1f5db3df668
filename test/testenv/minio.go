package testenv

import (
	"context"
	"testing"

	"bbvault/test/servers"
)

// S3Server is this test binary's MinIO: its endpoint ("127.0.0.1:PORT", no
// scheme), root credentials, and the methods of servers.MinIO.
type S3Server struct {
	servers.MinIO
}

// minioOnce starts the MinIO of this test binary; every caller gets the same
// server, or the same error.
var minioOnce = startOnce(func() (*S3Server, func() error, error) {
	m, err := servers.StartMinIO(context.Background(), "")
	if err != nil {
		return nil, nil, err
	}
	return &S3Server{MinIO: *m}, m.Stop, nil
})

// MinIO returns this test binary's MinIO server, starting it on first use.
func MinIO(t testing.TB) *S3Server {
	t.Helper()
	return started(t, "MinIO", minioOnce)
}

// NewBucket creates a bucket with a fresh name derived from the test's name
// and returns the name. The bucket and its objects are removed after the test.
func (s *S3Server) NewBucket(t testing.TB) string {
	t.Helper()
	return forTest(t, uniqueName(t, "t", '-', 63), s.MakeBucket, s.RemoveBucket)
}
