// Package crypto owns the repository's keys and authenticated encryption.
//
// A repository has one random master key: 32 bytes for AES-256-GCM and 32
// bytes for HMAC-SHA256, which names blobs so that IDs reveal nothing about
// content to someone without the key. The master key is stored in key files,
// wrapped with a key derived from the user's password by scrypt. Every sealed
// object is nonce(12) || ciphertext || tag(16); the caller may bind additional
// data (a blob's ID) so that blobs cannot be swapped undetected.
package crypto
