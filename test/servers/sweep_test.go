package servers

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestSweepStaleRemovesDeadRunsOnly(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	mine, err := NewDir("work")
	if err != nil {
		t.Fatal(err)
	}
	// A process that has exited: its ID is free (PIDs are not reused this fast).
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	dead := filepath.Join(os.TempDir(), fmt.Sprintf("%s%d-work-1", dirPrefix, cmd.Process.Pid))
	other := filepath.Join(os.TempDir(), "bbvault-unrelated")
	for _, d := range []string{dead, other} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	removed, err := SweepStale()
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 1 || removed[0] != dead {
		t.Fatalf("swept %q; want only the dead run's %s", removed, dead)
	}
	for _, d := range []string{mine, other} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s was removed: %v", d, err)
		}
	}
}

func TestNewDirNamesItsOwner(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	dir, err := NewDir("postgres")
	if err != nil {
		t.Fatal(err)
	}
	if pid, ok := dirOwner(filepath.Base(dir)); !ok || pid != os.Getpid() {
		t.Errorf("NewDir made %s, owned by %d (ok=%v); want this process, %d", dir, pid, ok, os.Getpid())
	}
	if !strings.Contains(filepath.Base(dir), "-postgres-") {
		t.Errorf("NewDir(\"postgres\") made %s; want the kind in the name", dir)
	}
}

func TestMissingBinariesSayHowToInstall(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // no minio, no pg_config, no go to ask for GOPATH
	t.Setenv("HOME", t.TempDir())
	_, err := FindMinIO()
	if !errors.Is(err, ErrMissing) || !strings.Contains(err.Error(), "scripts/install-test-deps.sh") {
		t.Errorf("FindMinIO with an empty PATH and HOME: %v; want ErrMissing naming scripts/install-test-deps.sh", err)
	}
	if dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin"); slices.ContainsFunc(dirs, hasPGServer) {
		return // FindPGBinDir would find the Debian installation
	}
	if _, err := FindPGBinDir(); !errors.Is(err, ErrMissing) {
		t.Errorf("FindPGBinDir without PostgreSQL: %v; want ErrMissing", err)
	}
}
