// Package arch holds the test that keeps bbvault's layers pointing down:
// every package of internal/ and cmd/ has a layer, and may import only
// packages of lower layers (docs/ARCHITECTURE.md draws the picture). A new
// package must be given its layer here before it can land.
package arch
