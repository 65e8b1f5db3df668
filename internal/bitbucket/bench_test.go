package bitbucket_test

import (
	"testing"

	"bbvault/test/standin"
)

// BenchmarkStatus measures one drain poll against the stand-in over
// loopback: the floor under WaitDrained's 100ms first interval.
func BenchmarkStatus(b *testing.B) {
	srv := standin.New(standin.Options{User: testUser, Password: testPassword})
	if err := srv.Start(b.Context()); err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	c := newClient(b, srv.URL())
	lock, err := c.Lock(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := c.Status(b.Context(), lock.UnlockToken); err != nil {
			b.Fatal(err)
		}
	}
}
