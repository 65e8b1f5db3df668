package repo

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"strings"

	"bbvault/internal/blob"
)

// Object name prefixes in the backend.
const (
	configName      = "config"
	keysPrefix      = "keys/"
	dataPrefix      = "data/"
	indexPrefix     = "index/"
	snapshotsPrefix = "snapshots/"
)

func packName(id blob.ID) string {
	s := id.String()
	return dataPrefix + s[:2] + "/" + s
}

func packIDFromName(name string) (blob.ID, error) {
	return blob.ParseID(name[strings.LastIndexByte(name, '/')+1:])
}

func randomID() (blob.ID, error) {
	var id blob.ID
	if _, err := rand.Read(id[:]); err != nil {
		return id, fmt.Errorf("random ID: %w", err)
	}
	return id, nil
}

// contentName names an object by the SHA-256 of its stored bytes.
func contentName(prefix string, stored []byte) string {
	return prefix + blob.ID(sha256.Sum256(stored)).String()
}
