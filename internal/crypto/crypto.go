package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"slices"
	"sync"

	"bbvault/internal/blob"
)

const (
	// KeySize is the size of each half of a master key.
	KeySize = 32
	// NonceSize is the GCM nonce size.
	NonceSize = 12
	// Overhead is what sealing adds to a plaintext.
	Overhead = NonceSize + 16
)

// ErrAuth means a ciphertext failed authentication: corrupt or tampered data,
// or the wrong key.
var ErrAuth = errors.New("ciphertext authentication failed (corrupt data or wrong key)")

// Key is a master key: an encryption key and a MAC key for blob IDs.
type Key struct {
	Encrypt [KeySize]byte
	MAC     [KeySize]byte

	once  sync.Once
	aead  cipher.AEAD
	hmacs sync.Pool
}

// NewRandomKey returns a fresh master key from the system's CSPRNG.
func NewRandomKey() (*Key, error) {
	k := &Key{}
	if _, err := rand.Read(k.Encrypt[:]); err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	if _, err := rand.Read(k.MAC[:]); err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	return k, nil
}

func (k *Key) init() {
	k.once.Do(func() {
		block, err := aes.NewCipher(k.Encrypt[:])
		if err != nil {
			panic(fmt.Sprintf("aes with a 32-byte key: %v", err))
		}
		k.aead, err = cipher.NewGCM(block)
		if err != nil {
			panic(fmt.Sprintf("gcm: %v", err))
		}
		k.hmacs.New = func() any { return hmac.New(sha256.New, k.MAC[:]) }
	})
}

// ID returns the blob ID of plaintext: HMAC-SHA256 under the MAC key.
func (k *Key) ID(plaintext []byte) blob.ID {
	k.init()
	h := k.hmacs.Get().(hash.Hash)
	h.Reset()
	h.Write(plaintext)
	var id blob.ID
	h.Sum(id[:0])
	k.hmacs.Put(h)
	return id
}

// Seal appends nonce || AES-256-GCM(plaintext, ad) to dst and returns it.
func (k *Key) Seal(dst, plaintext, ad []byte) ([]byte, error) {
	k.init()
	var nonce [NonceSize]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, fmt.Errorf("generate nonce: %w", err)
	}
	dst = append(dst, nonce[:]...)
	return k.aead.Seal(dst, nonce[:], plaintext, ad), nil
}

// SealInPlace encrypts buf[start+NonceSize:] in place, filling the nonce at
// buf[start:start+NonceSize], and returns buf with the tag appended: the same
// layout as Seal without a second buffer.
func (k *Key) SealInPlace(buf []byte, start int, ad []byte) ([]byte, error) {
	k.init()
	buf = slices.Grow(buf, k.aead.Overhead())
	nonce := buf[start : start+NonceSize]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("generate nonce: %w", err)
	}
	plain := buf[start+NonceSize:]
	out := k.aead.Seal(plain[:0], nonce, plain, ad)
	return buf[:start+NonceSize+len(out)], nil
}

// Open authenticates and decrypts a sealed message, appending the plaintext
// to dst. A failure is ErrAuth.
func (k *Key) Open(dst, sealed, ad []byte) ([]byte, error) {
	k.init()
	if len(sealed) < Overhead {
		return nil, fmt.Errorf("sealed data of %d bytes is shorter than the %d-byte overhead: %w", len(sealed), Overhead, ErrAuth)
	}
	out, err := k.aead.Open(dst, sealed[:NonceSize], sealed[NonceSize:], ad)
	if err != nil {
		return nil, ErrAuth
	}
	return out, nil
}
