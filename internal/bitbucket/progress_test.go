package bitbucket_test

import (
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"bbvault/internal/bitbucket"
	"bbvault/test/standin"
)

// Bitbucket shows the client's work as 10% to 100% of the backup.
func TestPercentage(t *testing.T) {
	for _, tc := range []struct {
		fraction float64
		want     int
	}{
		{0, 10}, {0.5, 55}, {1, 99}, {-1, 10}, {2, 99}, {math.NaN(), 10}, {0.999, 99}, {0.01, 10},
	} {
		if got := bitbucket.Percentage(tc.fraction); got != tc.want {
			t.Errorf("Percentage(%v) = %d, want %d", tc.fraction, got, tc.want)
		}
	}
}

func TestProgressReporterMonotonicAndThrottled(t *testing.T) {
	srv := startStandin(t, standin.Options{})
	clock := &fakeClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	c := newClient(t, srv.URL(), func(o *bitbucket.Options) { o.Now = clock.Now })
	lock, _ := lockAndStart(t, c)
	rep := c.NewProgressReporter(lock.UnlockToken, time.Second)
	ctx := t.Context()

	steps := []struct {
		advance  time.Duration
		fraction float64
		sent     bool
	}{
		{0, 0.5, true},  // the first report goes out
		{0, 0.6, false}, // too soon
		{999 * time.Millisecond, 0.6, false},
		{time.Millisecond, 0.3, false}, // lower: never sent
		{0, 0.7, true},
		{2 * time.Second, 0.7, false}, // not higher
		{0, 1, true},                  // 99, not 100
		{5 * time.Second, 1, false},
	}
	var want []int
	for i, s := range steps {
		clock.Advance(s.advance)
		if err := rep.Report(ctx, s.fraction); err != nil {
			t.Fatalf("step %d: Report: %v", i, err)
		}
		if s.sent {
			want = append(want, bitbucket.Percentage(s.fraction))
		}
		if got := progressSeen(srv); !slices.Equal(got, want) {
			t.Fatalf("step %d (report %v): Bitbucket saw %v, want %v", i, s.fraction, got, want)
		}
	}
	if rep.Sent() != 99 {
		t.Errorf("Sent() = %d before Finish, want 99", rep.Sent())
	}
	if err := rep.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	if err := rep.Finish(ctx); err != nil {
		t.Errorf("a second Finish: %v; want it to do nothing", err)
	}
	if err := rep.Report(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if got := progressSeen(srv); !slices.Equal(got, append(want, 100)) {
		t.Errorf("Bitbucket saw %v, want %v then 100 once", got, want)
	}
}

func TestProgressReporterConcurrent(t *testing.T) {
	srv := startStandin(t, standin.Options{})
	c := newClient(t, srv.URL())
	lock, _ := lockAndStart(t, c)
	rep := c.NewProgressReporter(lock.UnlockToken, 0)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 50 {
				if err := rep.Report(t.Context(), float64(i*8+w)/400); err != nil {
					t.Errorf("Report: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := rep.Finish(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := progressSeen(srv)
	if len(got) < 2 || !strictlyRising(got) || got[len(got)-1] != 100 {
		t.Errorf("Bitbucket saw %v: want strictly rising values ending at 100", got)
	}
}
