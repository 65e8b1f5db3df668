package dbstream

import (
	"os"
	"path/filepath"
	"testing"
)

func TestParseToolVersion(t *testing.T) {
	cases := []struct {
		out        string
		want       Version
		str, major string
	}{
		{"pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n", 150018, "15.18", "15"},
		{"pg_dump (PostgreSQL) 9.6.24\n", 90624, "9.6.24", "9.6"},
		{"pg_dump (PostgreSQL) 17beta1\n", 170000, "17.0", "17"},
	}
	for _, c := range cases {
		v, err := parseToolVersion(c.out)
		if err != nil || v != c.want || v.String() != c.str || v.Major() != c.major {
			t.Errorf("parseToolVersion(%q) = %d %q %q, %v; want %d %q %q", c.out, v, v, v.Major(), err, c.want, c.str, c.major)
		}
	}
	if _, err := parseToolVersion("something else"); err == nil {
		t.Error("parseToolVersion accepted output without a version")
	}
	if !(Version(90624).majorKey() < Version(100001).majorKey() && Version(150018).majorKey() == Version(150002).majorKey()) {
		t.Error("major version order is wrong")
	}
}

func TestToolFinderPrefersNewestDebianVersion(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // no pg_dump, no pg_config
	root := t.TempDir()
	for _, major := range []string{"9.6", "13", "16", "17"} {
		dir := filepath.Join(root, major, "bin")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if major == "17" {
			continue // a server-only install without pg_dump
		}
		if err := os.WriteFile(filepath.Join(dir, "pg_dump"), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	got, err := toolFinder{debianRoot: root}.find(t.Context(), "pg_dump")
	if want := filepath.Join(root, "16", "bin", "pg_dump"); err != nil || got != want {
		t.Fatalf("find = %q, %v; want %q", got, err, want)
	}
	if _, err := (toolFinder{debianRoot: root}).find(t.Context(), "pg_restore"); err == nil {
		t.Fatal("found a pg_restore that is not there")
	}
}
