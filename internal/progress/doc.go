// Package progress shows how far a long operation is: a redrawn status line
// on a terminal, plain lines at a slower pace otherwise (logs, cron mail).
// It only reads counters that the work updates; it never slows the work.
package progress
