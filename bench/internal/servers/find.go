package servers

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// installHint says how to get what is missing.
const installHint = "run scripts/install-test-deps.sh"

// FindMinIO looks for minio in PATH, then in the GOPATH bin directories and
// ~/go/bin, where scripts/install-test-deps.sh puts it.
func FindMinIO() (string, error) { return FindGoBinary("minio") }

// Restic18 is the name scripts/install-test-deps.sh gives the restic it
// builds from source (the release users pick today); Debian's older restic
// keeps the name restic.
const Restic18 = "restic-0.18.1"

// FindGoBinary looks for a program built with `go install` (by
// scripts/install-test-deps.sh): in PATH, then in the GOPATH bin
// directories and ~/go/bin.
func FindGoBinary(name string) (string, error) {
	if path, err := exec.LookPath(name); err == nil {
		return path, nil
	}
	var dirs []string
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for _, d := range filepath.SplitList(strings.TrimSpace(string(out))) {
			dirs = append(dirs, filepath.Join(d, "bin"))
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, "go", "bin"))
	}
	for _, dir := range dirs {
		if path := filepath.Join(dir, name); isExecutable(path) {
			return path, nil
		}
	}
	return "", fmt.Errorf("%s not found (looked in PATH and %s): %s", name, strings.Join(dirs, ", "), installHint)
}

// FindPGBinDir returns the directory of initdb and postgres: `pg_config
// --bindir`, else the newest /usr/lib/postgresql/*/bin.
func FindPGBinDir() (string, error) {
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		if dir := strings.TrimSpace(string(out)); hasPGServer(dir) {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin") // the pattern is valid
	slices.SortFunc(dirs, func(a, b string) int { return pgMajor(b) - pgMajor(a) })
	for _, dir := range dirs {
		if hasPGServer(dir) {
			return dir, nil
		}
	}
	return "", fmt.Errorf("PostgreSQL server (initdb, postgres) not found in `pg_config --bindir` or /usr/lib/postgresql/*/bin: %s", installHint)
}

func pgMajor(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir))) // 0 when not a version
	return v
}

func hasPGServer(dir string) bool {
	return dir != "" && isExecutable(filepath.Join(dir, "initdb")) && isExecutable(filepath.Join(dir, "postgres"))
}

func isExecutable(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular() && info.Mode().Perm()&0o111 != 0
}

// serverCredential is who PostgreSQL runs as: ourselves, or the postgres
// OS user when we are root (PostgreSQL refuses root).
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root needs the postgres OS user for PostgreSQL: %w (%s)", err, installHint)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("user postgres: uid %q: %w", u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("user postgres: gid %q: %w", u.Gid, err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}
