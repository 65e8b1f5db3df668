// Package limit wraps a Backend so that at most n calls run at once. A Get
// holds its slot until the caller closes the reader, so open streams count
// as connections. List takes no slot: its callback may call back into the
// backend, and holding a slot across it could deadlock.
package limit
