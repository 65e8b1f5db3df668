// Package wait holds the one way bbvault waits: a sleep that ends early when
// its context is cancelled, and jitter that spreads retries of racing
// processes apart. Retries, lock polling and drain polling all use it.
package wait
