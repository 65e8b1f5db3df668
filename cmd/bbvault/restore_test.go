package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRestoreRefusesBeforeWriting: a target that is not empty is refused
// with its exit code before the other target is written.
func TestRestoreRefusesBeforeWriting(t *testing.T) {
	c := newCLIEnv(t)
	c.json(0, "init")
	c.json(0, "snapshot", "--home", c.home, "--db", c.src)

	full := c.pg.NewDB(t)
	c.sql(c.pg.DSN(full), "CREATE TABLE keep_me (id int)")
	home := filepath.Join(t.TempDir(), "home")
	_, stderr, code := runCLI(t, c.env, "restore", "latest", "--target", home, "--db-target", c.pg.DSN(full))
	if code != exitDatabase || !strings.Contains(stderr, "keep_me") {
		t.Errorf("restore into a database with a table: exit %d, want %d naming the table: %s", code, exitDatabase, stderr)
	}
	if _, err := os.Stat(home); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the refused restore created the home target %s (%v)", home, err)
	}

	busy := t.TempDir()
	os.WriteFile(filepath.Join(busy, "keep-me"), []byte("x"), 0o600)
	name := c.newTargetName()
	_, stderr, code = runCLI(t, c.env, "restore", "latest", "--target", busy, "--db-target", c.pg.DSN(name))
	if code != exitFailure || !strings.Contains(stderr, "keep-me") {
		t.Errorf("restore into a directory with a file: exit %d, want %d naming the file: %s", code, exitFailure, stderr)
	}
	var exists bool
	c.query(c.pg.DSN("postgres"), "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name, &exists)
	if exists {
		t.Errorf("the refused restore created database %s", name)
	}
}
