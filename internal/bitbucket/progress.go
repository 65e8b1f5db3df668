package bitbucket

import (
	"context"
	"math"
	"sync/atomic"
	"time"
)

// Bitbucket shows an external backup as 10% its own preparation and 90% the
// client's work.
const (
	progressFloor = 10
	progressSpan  = 90
)

// ProgressReporter turns the fraction of the client's work done into
// progress reports Bitbucket shows to the users locked out. It never sends a
// lower percentage than before, sends at most one request per interval, and
// never sends 100 before Finish (100 would complete the task and un-latch the
// instance while copying still runs). It is safe for concurrent use; a report
// made while another is in flight is dropped, as a throttled one would be.
type ProgressReporter struct {
	c     *Client
	token string
	every time.Duration
	busy  chan struct{} // holds a token while a request is in flight
	sent  atomic.Int32  // the highest percentage Bitbucket accepted
	last  time.Time     // when the last request was sent; guarded by busy
}

// NewProgressReporter returns a reporter for the lock of unlockToken that
// sends at most one request per every.
func (c *Client) NewProgressReporter(unlockToken string, every time.Duration) *ProgressReporter {
	return &ProgressReporter{c: c, token: unlockToken, every: every, busy: make(chan struct{}, 1)}
}

// Percentage maps a fraction of the client's work (0..1, clamped) onto
// Bitbucket's scale: 10 at the start, 99 at most.
func Percentage(fraction float64) int {
	if math.IsNaN(fraction) || fraction < 0 {
		fraction = 0
	}
	pct := progressFloor + int(math.Floor(min(fraction, 1)*progressSpan))
	return min(pct, 99)
}

// Report sends the percentage of fraction unless it is not higher than what
// was sent, the last request was less than the interval ago, or another
// request is in flight. Errors are worth logging, not failing the backup for:
// Finish is the report that matters.
func (p *ProgressReporter) Report(ctx context.Context, fraction float64) error {
	pct := Percentage(fraction)
	if pct <= int(p.sent.Load()) {
		return nil
	}
	select {
	case p.busy <- struct{}{}:
	default:
		return nil
	}
	defer func() { <-p.busy }()
	now := p.c.now()
	if pct <= int(p.sent.Load()) || !p.last.IsZero() && now.Sub(p.last) < p.every {
		return nil
	}
	p.last = now
	if err := p.c.Progress(ctx, p.token, pct); err != nil {
		return err
	}
	p.sent.Store(int32(pct))
	return nil
}

// Finish waits for any report in flight and sends 100, which completes the
// backup task; once it succeeded, calling it again does nothing. Unlock must
// still follow.
func (p *ProgressReporter) Finish(ctx context.Context) error {
	select {
	case p.busy <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-p.busy }()
	if p.sent.Load() == 100 {
		return nil
	}
	if err := p.c.Finish(ctx, p.token); err != nil {
		return err
	}
	p.sent.Store(100)
	p.last = p.c.now()
	return nil
}

// Sent returns the highest percentage Bitbucket accepted, 0 before any.
func (p *ProgressReporter) Sent() int { return int(p.sent.Load()) }
