package wait

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestSleepEndsWithItsContext(t *testing.T) {
	cause := errors.New("stopped by the test")
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(cause)
	start := time.Now()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, cause) {
		t.Fatalf("Sleep on a cancelled context: %v, want the cause %v", err, cause)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Sleep took %s after cancellation", d)
	}
}

func TestSleepWaitsItsTime(t *testing.T) {
	start := time.Now()
	if err := Sleep(context.Background(), 20*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Errorf("Sleep(20ms) returned after %s", d)
	}
	if err := Sleep(context.Background(), -time.Second); err != nil {
		t.Errorf("negative sleep on a live context: %v", err)
	}
}

func TestJitterStaysWithinHalfEitherSide(t *testing.T) {
	d := 2 * time.Second
	seen := map[time.Duration]bool{}
	for range 1000 {
		j := Jitter(d)
		if j < d/2 || j >= 3*d/2 {
			t.Fatalf("Jitter(%s) = %s, outside [%s, %s)", d, j, d/2, 3*d/2)
		}
		seen[j] = true
	}
	if len(seen) < 100 {
		t.Errorf("only %d distinct values in 1000 draws: not spread", len(seen))
	}
	if Jitter(0) != 0 {
		t.Error("Jitter(0) must be 0")
	}
}
