// Package units parses and prints the byte sizes and durations the
// benchmark's flags and tables use ("3GiB", "512MiB", "1.2 GB").
package units
