package wait

import (
	"context"
	"math/rand/v2"
	"time"
)

// Sleep waits for d, or until ctx is done; then it returns the context's
// cause. A zero or negative d returns at once (nil unless ctx is done).
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return context.Cause(ctx)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// Jitter spreads d over [d/2, 3d/2), so that processes retrying the same
// thing do not retry in step. A d of zero or less is returned as it is.
func Jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	return d/2 + time.Duration(rand.Int64N(int64(d)))
}
