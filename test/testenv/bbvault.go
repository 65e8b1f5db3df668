package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"bbvault/test/servers"
)

// bbvaultOnce builds the bbvault binary of this test binary; every caller
// gets the same path, or the same error.
var bbvaultOnce = startOnce(buildBbvault)

// Bbvault returns the path of a bbvault binary built from this checkout's
// cmd/bbvault, building it on first use. It lives in a directory Main
// removes when the tests end (and the next run sweeps, if this one is
// killed).
func Bbvault(t testing.TB) string {
	t.Helper()
	return started(t, "Bbvault", bbvaultOnce)
}

// buildBbvault builds the binary into a new directory and returns its path
// and the removal of that directory.
func buildBbvault() (string, func() error, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", nil, fmt.Errorf("the go command is needed to build bbvault: %w", err)
	}
	dir, err := servers.NewDir("bbvault")
	if err != nil {
		return "", nil, err
	}
	remove := func() error { return os.RemoveAll(dir) }
	bin := filepath.Join(dir, "bbvault")
	out, err := exec.Command(goBin, "build", "-o", bin, "bbvault/cmd/bbvault").CombinedOutput()
	if err != nil {
		return "", nil, errors.Join(fmt.Errorf("go build bbvault: %w\n%s", err, out), remove())
	}
	return bin, remove, nil
}
