package blob

import (
	"encoding/hex"
	"fmt"
)

// IDSize is the length of an ID in bytes.
const IDSize = 32

// ID names a blob: the keyed SHA-256 (HMAC) of its plaintext.
type ID [IDSize]byte

// String returns the ID as 64 lowercase hex digits.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// Short returns the first 8 hex digits, for messages.
func (id ID) Short() string { return hex.EncodeToString(id[:4]) }

// IsNull reports whether the ID is all zeroes (no blob).
func (id ID) IsNull() bool { return id == ID{} }

// ParseID parses 64 hex digits.
func ParseID(s string) (ID, error) {
	var id ID
	if len(s) != 2*IDSize {
		return id, fmt.Errorf("invalid blob ID %q: want %d hex digits", s, 2*IDSize)
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, fmt.Errorf("invalid blob ID %q: %w", s, err)
	}
	return id, nil
}

// MarshalText encodes the ID as hex (used by JSON).
func (id ID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText decodes a hex ID.
func (id *ID) UnmarshalText(b []byte) error {
	p, err := ParseID(string(b))
	if err != nil {
		return err
	}
	*id = p
	return nil
}

// Type separates file data from metadata; they go to different packs so
// that metadata can be read without touching data packs.
type Type uint8

const (
	// Data is file or stream content.
	Data Type = 1
	// Tree is a directory listing or other metadata.
	Tree Type = 2
)

func (t Type) String() string {
	switch t {
	case Data:
		return "data"
	case Tree:
		return "tree"
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}
