// Package units parses the byte sizes the benchmark's flags take ("3GiB",
// "512MiB", "1.2 GB"). Printing sizes is internal/progress.Bytes' job, so
// that the benchmark and bbvault show them alike.
package units
