// Package metrics turns the outcome of one bbvault run (snapshot, check,
// prune, restore) into Prometheus metrics, with the official Go client:
// written to a textfile for node_exporter's textfile collector (atomically:
// a temporary file in the same directory, fsync, rename) or pushed to a
// Pushgateway.
//
// The input is a plain Run the CLI fills from its results; the package
// imports nothing of bbvault's, so it stays a leaf. Every metric is a gauge
// about the last run of a command (label command=...), with its unit in its
// name. The last success timestamp survives failed runs: the textfile keeps
// the previous value, and the push uses the Pushgateway's POST, which
// leaves metrics it does not name in place. A failed write or push is for
// the caller to log as a warning, never a reason to fail the backup.
package metrics
