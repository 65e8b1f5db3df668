package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseConfigProfilesAndOverrides(t *testing.T) {
	c, err := parseConfig([]string{"--profile", "full", "--home-size", "5GiB", "--tools", "bbvault,restic", "--dests", "s3"})
	if err != nil {
		t.Fatal(err)
	}
	if c.homeBytes != 5<<30 || c.dbBytes != 1<<30 || c.repos != 200 || c.history != 30 {
		t.Errorf("full profile with a 5GiB home: %+v", c)
	}
	if strings.Join(c.tools, ",") != "bbvault,restic" || strings.Join(c.dests, ",") != "s3" {
		t.Errorf("tools %v, dests %v", c.tools, c.dests)
	}
	for _, bad := range [][]string{
		{"--profile", "huge"}, {"--tools", "borg"}, {"--dests", "gcs"}, {"--home-size", "big"},
		{"--history", "5", "--keep", "5"},
	} {
		if _, err := parseConfig(bad); err == nil {
			t.Errorf("parseConfig(%q) accepted bad flags", bad)
		}
	}
}

func TestCompareHomes(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	files := map[string]string{"shared/data/repositories/1/HEAD": "ref: refs/heads/master\n",
		"shared/data/attachments/a.png": "png", "caches/x": "excluded", "shared/config/k": "key"}
	for rel, content := range files {
		write(t, src, rel, content)
		if !strings.HasPrefix(rel, "caches/") {
			write(t, dst, rel, content)
		}
	}
	if got := compareHomes(src, dst, 1); !strings.HasPrefix(got, "ok") {
		t.Fatalf("identical homes (excluded paths aside): %q", got)
	}
	write(t, dst, "shared/config/k", "KEY") // same size, other content
	if got := compareHomes(src, dst, 1); !strings.Contains(got, "DIFFERS") {
		t.Fatalf("changed content: %q, want a difference", got)
	}
	write(t, dst, "shared/config/k", "key")
	if err := os.Remove(filepath.Join(dst, "shared/data/attachments/a.png")); err != nil {
		t.Fatal(err)
	}
	if got := compareHomes(src, dst, 1); !strings.Contains(got, "MISSING shared/data/attachments/a.png") {
		t.Fatalf("missing file: %q", got)
	}
}

func write(t *testing.T, root, rel, content string) {
	t.Helper()
	path := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDiskNeededGrowsWithDestinations(t *testing.T) {
	one, err := parseConfig([]string{"--profile", "full", "--dests", "local"})
	if err != nil {
		t.Fatal(err)
	}
	both, err := parseConfig([]string{"--profile", "full"})
	if err != nil {
		t.Fatal(err)
	}
	if diskNeeded(one) <= 3*one.homeBytes || diskNeeded(both) <= diskNeeded(one) {
		t.Fatalf("disk needed: %d with one destination, %d with two", diskNeeded(one), diskNeeded(both))
	}
	huge, err := parseConfig([]string{"--home-size", "1000TiB"})
	if err != nil {
		t.Fatal(err)
	}
	if err := checkDisk(huge, t.TempDir()); err == nil || !strings.Contains(err.Error(), "--dests local") {
		t.Fatalf("checkDisk for a 1000 TiB home: %v; want a refusal that says what to do", err)
	}
}

// A restore onto a new database rewrites bitbucket.properties: the check
// takes lines added or commented out, and catches a line that is gone.
func TestCompareHomesTakesAFittedPropertiesFile(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	write(t, src, fittedFile, "setup.displayName=X\njdbc.url=jdbc:postgresql://old/bitbucket\n")
	write(t, dst, fittedFile, "setup.displayName=X\n# jdbc.url=jdbc:postgresql://old/bitbucket\njdbc.url=jdbc:postgresql://new/restored\n")
	if got := compareHomes(src, dst, 1); !strings.HasPrefix(got, "ok") {
		t.Fatalf("fitted properties: %q, want ok", got)
	}
	write(t, dst, fittedFile, "jdbc.url=jdbc:postgresql://new/restored\n")
	if got := compareHomes(src, dst, 1); !strings.Contains(got, "setup.displayName=X") {
		t.Fatalf("a line of the original is gone: %q, want it named", got)
	}
}
