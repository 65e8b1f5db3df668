package repo

import (
	"fmt"
	"sync"

	"github.com/klauspost/compress/zstd"

	"bbvault/internal/crypto"
)

// Compression flags: the first plaintext byte of every sealed object says
// how the rest is stored.
const (
	flagRaw  byte = 0
	flagZstd byte = 1
)

// codec compresses and seals, and opens and decompresses, with one key.
type codec struct {
	key      *crypto.Key
	compress bool
	enc      *zstd.Encoder
	dec      *zstd.Decoder
	scratch  sync.Pool
}

func newCodec(key *crypto.Key, compression string) (*codec, error) {
	c := &codec{key: key, compress: compression != "off"}
	level := zstd.SpeedFastest
	if compression == "max" {
		level = zstd.SpeedBetterCompression
	}
	var err error
	// No zstd checksum: every blob is authenticated by GCM and its HMAC ID.
	c.enc, err = zstd.NewWriter(nil, zstd.WithEncoderLevel(level), zstd.WithEncoderConcurrency(1),
		zstd.WithLowerEncoderMem(true), zstd.WithEncoderCRC(false))
	if err != nil {
		return nil, fmt.Errorf("zstd encoder: %w", err)
	}
	c.dec, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(1<<30),
		zstd.IgnoreChecksum(true))
	if err != nil {
		return nil, fmt.Errorf("zstd decoder: %w", err)
	}
	c.scratch.New = func() any { b := make([]byte, 0, 1<<20); return &b }
	return c, nil
}

// seal appends the stored form of plaintext to dst: nonce || GCM(flag ||
// payload), with ad bound to it. Compression and encryption share dst: the
// payload is compressed right after the nonce and encrypted in place.
func (c *codec) seal(dst, plaintext, ad []byte) ([]byte, error) {
	start := len(dst)
	dst = append(dst, make([]byte, crypto.NonceSize)...)
	dst = append(dst, flagZstd)
	if c.compress {
		dst = c.enc.EncodeAll(plaintext, dst)
	}
	if !c.compress || len(dst)-start-crypto.NonceSize-1 >= len(plaintext) {
		dst = append(append(dst[:start+crypto.NonceSize], flagRaw), plaintext...)
	}
	return c.key.SealInPlace(dst, start, ad)
}

// open reverses seal, appending the plaintext to dst. It decrypts into
// dst's spare room: a raw blob (incompressible data, most of a home of git
// packs) is then only moved over its flag byte, with no buffer of its own;
// a compressed one is copied to a pooled buffer and decompressed into dst.
func (c *codec) open(dst, stored, ad []byte) ([]byte, error) {
	start := len(dst)
	out, err := c.key.Open(dst, stored, ad)
	if err != nil {
		return nil, err
	}
	if len(out) == start {
		return nil, fmt.Errorf("empty plaintext: %w", crypto.ErrAuth)
	}
	switch out[start] {
	case flagRaw:
		n := copy(out[start:], out[start+1:])
		return out[:start+n], nil
	case flagZstd:
		return c.decompress(out[:start], out[start+1:])
	}
	return nil, fmt.Errorf("unknown compression flag %d", out[start])
}

// decompress appends the decompressed payload to dst; payload may lie in
// dst's spare room, so it is copied out first.
func (c *codec) decompress(dst, payload []byte) ([]byte, error) {
	bp := c.scratch.Get().(*[]byte)
	defer c.scratch.Put(bp)
	*bp = append((*bp)[:0], payload...)
	out, err := c.dec.DecodeAll(*bp, dst)
	if err != nil {
		return nil, fmt.Errorf("decompress: %w", err)
	}
	return out, nil
}

// openInPlace is open decrypting over stored, which the caller gives up: a
// raw blob's plaintext comes back as part of stored, with no copy; a
// compressed one is decompressed into dst[:0].
func (c *codec) openInPlace(dst, stored, ad []byte) ([]byte, error) {
	if len(stored) < crypto.NonceSize {
		return nil, fmt.Errorf("sealed data of %d bytes: %w", len(stored), crypto.ErrAuth)
	}
	plain, err := c.key.Open(stored[crypto.NonceSize:crypto.NonceSize], stored, ad)
	if err != nil {
		return nil, err
	}
	if len(plain) == 0 {
		return nil, fmt.Errorf("empty plaintext: %w", crypto.ErrAuth)
	}
	switch plain[0] {
	case flagRaw:
		return plain[1:], nil
	case flagZstd:
		out, err := c.dec.DecodeAll(plain[1:], dst[:0])
		if err != nil {
			return nil, fmt.Errorf("decompress: %w", err)
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown compression flag %d", plain[0])
}

func (c *codec) close() {
	c.enc.Close()
	c.dec.Close()
}
