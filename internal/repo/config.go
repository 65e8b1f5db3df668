package repo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"bbvault/internal/backend"
	"bbvault/internal/chunk"
)

// FormatVersion is the repository format this code reads and writes.
const FormatVersion = 1

// Pack size limits.
const (
	MinPackSize     = 4 << 20
	MaxPackSize     = 128 << 20
	DefaultPackSize = 16 << 20
)

// Config is the repository's configuration, stored encrypted as "config".
type Config struct {
	Version     int       `json:"version"`
	ID          string    `json:"id"`
	ChunkerPol  chunk.Pol `json:"chunker_polynomial"`
	PackSize    int       `json:"pack_size"`
	Compression string    `json:"compression"`
}

// Validate rejects a config this code cannot use.
func (c Config) Validate() error {
	if c.Version != FormatVersion {
		return fmt.Errorf("repository format version %d is not supported (this bbvault reads version %d)", c.Version, FormatVersion)
	}
	if c.PackSize < MinPackSize || c.PackSize > MaxPackSize {
		return fmt.Errorf("pack size %d is outside [%d, %d]", c.PackSize, MinPackSize, MaxPackSize)
	}
	switch c.Compression {
	case "auto", "max", "off":
	default:
		return fmt.Errorf("unknown compression %q (want auto, max or off)", c.Compression)
	}
	return chunk.ValidatePol(c.ChunkerPol)
}

// ErrNotInitialized means the location holds no repository.
var ErrNotInitialized = errors.New("no repository here: run `bbvault init` first")

// ErrExists means init found a repository already there.
var ErrExists = errors.New("a repository already exists here; refusing to initialise over it")

// readAll reads a whole small object (config, keys, index, manifests).
func readAll(ctx context.Context, be backend.Backend, name string) ([]byte, error) {
	rc, err := be.Get(ctx, name, 0, 0)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, rc); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return buf.Bytes(), nil
}

func putBytes(ctx context.Context, be backend.Backend, name string, b []byte) error {
	if err := be.Put(ctx, name, bytes.NewReader(b), int64(len(b))); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// SealJSON encodes v and seals it with the repository key and the object
// kind as additional data, so that an index cannot pass for a manifest.
// Package repolock stores its lock objects this way.
func (r *Repository) SealJSON(kind string, v any) ([]byte, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", kind, err)
	}
	return r.codec.seal(nil, plain, []byte(kind))
}

// OpenJSON reverses SealJSON: an object damaged, sealed with another key
// or of another kind is an error wrapping ErrCorrupt.
func (r *Repository) OpenJSON(kind string, stored []byte, v any) error {
	plain, err := r.codec.open(nil, stored, []byte(kind))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if err := json.Unmarshal(plain, v); err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return nil
}

// loadJSON reads, opens and decodes a sealed JSON object.
func (r *Repository) loadJSON(ctx context.Context, name, kind string, v any) error {
	stored, err := readAll(ctx, r.be, name)
	if err != nil {
		return err
	}
	if err := r.OpenJSON(kind, stored, v); err != nil {
		return fmt.Errorf("object %s is corrupt: %w", name, err)
	}
	return nil
}
