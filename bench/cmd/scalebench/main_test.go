package main

import (
	"path/filepath"
	"testing"
)

func TestParseConfig(t *testing.T) {
	c, err := parseConfig([]string{"--blobs", "2000000", "--bbvault", "a/bbvault, /b/bbvault"})
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs("a/bbvault")
	if c.blobs != 2_000_000 || len(c.bbvaults) != 2 || c.bbvaults[0] != abs || c.bbvaults[1] != "/b/bbvault" {
		t.Errorf("config %+v", c)
	}
	if c, err := parseConfig(nil); err != nil || c.blobs != 50_000_000 {
		t.Errorf("defaults: %+v, %v; want 50 million blobs", c, err)
	}
	for _, bad := range [][]string{{"--blobs", "10"}, {"extra"}, {"--blobs", "x"}} {
		if _, err := parseConfig(bad); err == nil {
			t.Errorf("parseConfig(%q) accepted bad flags", bad)
		}
	}
}
