// Package blob holds the identity of content-addressed blobs: the ID type and
// the blob kinds. It is tiny on purpose so that every layer (repo, trees,
// archiver, restorer) can name blobs without importing each other.
package blob
