package bitbucket_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"bbvault/internal/bitbucket"
	"bbvault/test/standin"
)

const (
	testUser     = "backup-admin"
	testPassword = "pw-Zq8-never-printed"
)

// startStandin serves a stand-in on loopback for the test's duration.
func startStandin(t *testing.T, opts standin.Options) *standin.Server {
	t.Helper()
	if opts.User == "" {
		opts.User, opts.Password = testUser, testPassword
	}
	srv := standin.New(opts)
	if err := srv.Start(t.Context()); err != nil {
		t.Fatalf("starting the stand-in: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("stopping the stand-in: %v", err)
		}
	})
	return srv
}

// newClient returns a client of url with the test credentials and quick
// retries; edit adjusts the options.
func newClient(t testing.TB, url string, edit ...func(*bitbucket.Options)) *bitbucket.Client {
	t.Helper()
	opts := bitbucket.Options{BaseURL: url, User: testUser, Password: testPassword, Sleep: quickSleep}
	for _, e := range edit {
		e(&opts)
	}
	c, err := bitbucket.New(opts)
	if err != nil {
		t.Fatalf("bitbucket.New: %v", err)
	}
	return c
}

// quickSleep waits a hundredth of what is asked, so that retry and poll
// tests run fast while still waiting for real.
func quickSleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d / 100)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// lockAndStart locks the stand-in and starts a backup under the lock.
func lockAndStart(t *testing.T, c *bitbucket.Client) (bitbucket.LockInfo, bitbucket.Backup) {
	t.Helper()
	lock, err := c.Lock(t.Context())
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	b, err := c.StartBackup(t.Context(), lock.UnlockToken)
	if err != nil {
		t.Fatalf("StartBackup: %v", err)
	}
	return lock, b
}

// requests counts the requests the stand-in received for step.
func requests(srv *standin.Server, step standin.Step) int {
	n := 0
	for _, e := range srv.History() {
		if e.Kind == standin.EventRequest && e.Step == step {
			n++
		}
	}
	return n
}

// progressSeen returns the percentages the stand-in accepted, in order.
func progressSeen(srv *standin.Server) []int {
	var pcts []int
	for _, e := range srv.History() {
		if e.Kind == standin.EventProgress {
			pcts = append(pcts, e.Percentage)
		}
	}
	return pcts
}

// pageStatus is what a user opening a page of the instance gets.
func pageStatus(t *testing.T, srv *standin.Server, path string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
