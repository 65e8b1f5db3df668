package bitbucket

import (
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"time"
)

// retryPolicy says how often a step is tried and after which failures.
//
// Every step retries failures that prove the request never reached
// Bitbucket: a refused or failed connection, a DNS error, a 429. Only steps
// that are safe to apply twice also retry ambiguous failures, those where
// Bitbucket may have acted before the answer was lost: a broken connection, a
// timeout, a 5xx.
//
//   - GETs (version, status, credentials) change nothing: retried on
//     everything transient.
//   - Lock is not retried after an ambiguous failure. If the first POST took
//     the lock and only the answer was lost, a second POST gets 409 and the
//     unlock token of the lock we hold is gone for good: the instance stays
//     in maintenance until an administrator intervenes. Failing loudly, with
//     an error that says the instance may be locked, is the lesser harm.
//   - StartBackup is not retried after an ambiguous failure either: a second
//     backup task cannot start while the first runs, and the caller unlocks
//     on any error, which ends both.
//   - Progress and cancel are idempotent: sending the same percentage or
//     cancelling twice changes nothing. Retried on everything transient.
//   - Unlock is retried hard, for about half a minute: it is what lets users
//     back in. A 403, 404 or 409 after an ambiguous attempt means that attempt
//     released the lock, and counts as success (see settled).
type retryPolicy struct {
	attempts  int
	base, max time.Duration
	ambiguous bool // also retry failures Bitbucket may have acted on
}

var (
	readPolicy   = retryPolicy{attempts: 4, base: 250 * time.Millisecond, max: 2 * time.Second, ambiguous: true}
	lockPolicy   = retryPolicy{attempts: 3, base: 250 * time.Millisecond, max: 2 * time.Second}
	updatePolicy = retryPolicy{attempts: 3, base: 250 * time.Millisecond, max: 2 * time.Second, ambiguous: true}
	unlockPolicy = retryPolicy{attempts: 8, base: 500 * time.Millisecond, max: 8 * time.Second, ambiguous: true}
)

// delay is the wait before attempt n+1 (n counts from 1): exponential,
// capped, with jitter in [d/2, d) so that clients do not retry in step.
func (p retryPolicy) delay(n int) time.Duration {
	d := p.base << (n - 1)
	if d > p.max || d <= 0 {
		d = p.max
	}
	half := d / 2
	return half + rand.N(half+1)
}

// failure classifies why an attempt failed.
type failure int

const (
	failPermanent failure = iota // an answer that retrying will not change
	failNotSent                  // the request provably never reached Bitbucket
	failAmbiguous                // Bitbucket may have acted on it
)

func (p retryPolicy) retries(f failure) bool {
	return f == failNotSent || f == failAmbiguous && p.ambiguous
}

func classifyTransport(err error) failure {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return failNotSent
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return failNotSent
	}
	return failAmbiguous
}

func classifyStatus(code int) failure {
	switch {
	case code == http.StatusTooManyRequests:
		return failNotSent
	case code >= 500:
		return failAmbiguous
	}
	return failPermanent
}
