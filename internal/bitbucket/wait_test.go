package bitbucket_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"bbvault/internal/bitbucket"
	"bbvault/test/standin"
)

// neverDraining is a stand-in locked with a backup that never drains.
func neverDraining(t *testing.T, edit ...func(*bitbucket.Options)) (*bitbucket.Client, string) {
	srv := startStandin(t, standin.Options{Drain: standin.DrainFault{Never: true}})
	c := newClient(t, srv.URL(), edit...)
	lock, _ := lockAndStart(t, c)
	return c, lock.UnlockToken
}

func realSleep(o *bitbucket.Options) { o.Sleep = nil }

func TestWaitDrainedHonoursCancel(t *testing.T) {
	c, token := neverDraining(t, realSleep)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	_, err := c.WaitDrained(ctx, token, time.Minute, nil)
	if !errors.Is(err, context.Canceled) || errors.Is(err, bitbucket.ErrDrainTimeout) {
		t.Fatalf("WaitDrained after cancel: %v; want context.Canceled", err)
	}
	if late := time.Since(start) - 300*time.Millisecond; late > 500*time.Millisecond {
		t.Errorf("WaitDrained returned %s after the cancel; it must stop waiting at once", late)
	}
}

func TestWaitDrainedTimeout(t *testing.T) {
	c, token := neverDraining(t, realSleep)
	const timeout = time.Second
	polls := 0
	start := time.Now()
	st, err := c.WaitDrained(t.Context(), token, timeout, func(bitbucket.Status) { polls++ })
	took := time.Since(start)
	if !errors.Is(err, bitbucket.ErrDrainTimeout) {
		t.Fatalf("WaitDrained: %v; want ErrDrainTimeout", err)
	}
	if st.DBState != bitbucket.StateDraining {
		t.Errorf("the last status %+v should come back with the timeout", st)
	}
	if took < timeout || took > timeout+500*time.Millisecond {
		t.Errorf("WaitDrained gave up after %s, want about %s", took, timeout)
	}
	// A poll every 50ms at first: about 20 in a second, not a busy loop.
	if polls < 10 || polls > 22 {
		t.Errorf("%d polls in %s: want about one per 50ms", polls, timeout)
	}
}

// The poll interval is 50ms for 40 polls, then starts at 100ms and doubles to 2s.
func TestWaitDrainedBackoff(t *testing.T) {
	var mu sync.Mutex
	var waits []time.Duration
	record := func(o *bitbucket.Options) {
		o.Sleep = func(ctx context.Context, d time.Duration) error {
			mu.Lock()
			waits = append(waits, d)
			mu.Unlock()
			return ctx.Err()
		}
	}
	c, token := neverDraining(t, record)
	ctx, cancel := context.WithCancel(t.Context())
	polls := 0
	_, err := c.WaitDrained(ctx, token, time.Minute, func(bitbucket.Status) {
		if polls++; polls == 50 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("WaitDrained: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := 100 * time.Millisecond
	for i, got := range waits {
		if i < 40 {
			if got != 50*time.Millisecond {
				t.Fatalf("wait %d was %s, want 50ms (all: %v)", i, got, waits)
			}
			continue
		}
		if got != want {
			t.Fatalf("wait %d was %s, want %s (all: %v)", i, got, want, waits)
		}
		want = min(2*want, 2*time.Second)
	}
	if len(waits) != polls || waits[len(waits)-1] != 2*time.Second {
		t.Errorf("waits %v after %d polls: want one wait per poll, reaching the 2s cap", waits, polls)
	}
}

func TestWaitDrainedBadTimeout(t *testing.T) {
	c, token := neverDraining(t)
	if _, err := c.WaitDrained(t.Context(), token, 0, nil); err == nil {
		t.Error("a zero timeout was accepted")
	}
}
