// Package report holds the benchmark's results (one Row per tool,
// destination and scenario), computes bbvault's ratios to each peer and
// the aims, and writes them as a text table, Markdown and JSON.
package report
