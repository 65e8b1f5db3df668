package testenv

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
)

// This file hands out what a new server gets: a directory, a port, random
// credentials, and names for the buckets and databases tests create.

// dirPrefix starts the name of every data directory testenv creates; the
// process ID that follows lets a later run remove what a killed run left.
const dirPrefix = "bbvault-testenv-"

// newDataDir creates a fresh directory for one server under os.TempDir().
func newDataDir(kind string) (string, error) {
	sweepOnce.Do(sweepStale)
	dir, err := os.MkdirTemp("", fmt.Sprintf("%s%d-%s-", dirPrefix, os.Getpid(), kind))
	if err != nil {
		return "", fmt.Errorf("create %s data directory: %w", kind, err)
	}
	return dir, nil
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// randomHex returns n random bytes as hex, for credentials and names.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	return fmt.Sprintf("%x", b)
}

// uniqueName builds a bucket or database name from the test's name: prefix,
// the name's letters and digits lowercased, and random hex, joined by sep and
// at most maxLen bytes long.
func uniqueName(t testing.TB, prefix string, sep rune, maxLen int) string {
	var b strings.Builder
	lastSep := true
	for _, r := range strings.ToLower(t.Name()) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			lastSep = false
		case !lastSep:
			b.WriteRune(sep)
			lastSep = true
		}
	}
	suffix := string(sep) + randomHex(4)
	base := b.String()
	if room := maxLen - len(prefix) - 1 - len(suffix); len(base) > room {
		base = base[:room]
	}
	base = strings.Trim(base, string(sep))
	if base == "" {
		return prefix + suffix
	}
	return prefix + string(sep) + base + suffix
}

// retryOnPortTaken runs start up to three times while it fails because its
// port was taken.
func retryOnPortTaken[T any](start func() (T, error)) (T, error) {
	var v T
	var err error
	for range 3 {
		v, err = start()
		if !errors.Is(err, errPortTaken) {
			break
		}
	}
	return v, err
}
