package testenv

import (
	"context"
	"strings"
	"testing"
	"time"

	"bbvault/test/servers"
)

// This file names and creates what one test gets of a shared server.

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
	suffix := string(sep) + servers.RandomHex(4)
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

// forTest creates what name names (a bucket, a database) and removes it
// after the test; it returns name.
func forTest(t testing.TB, name string, create, remove func(context.Context, string) error) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := create(ctx, name); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := remove(ctx, name); err != nil {
			t.Errorf("testenv: %v", err)
		}
	})
	return name
}
