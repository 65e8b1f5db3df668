package testenv

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

// findMinIO looks for the minio binary in PATH, then in $(go env GOPATH)/bin,
// then in ~/go/bin, where scripts/install-test-deps.sh puts it.
func findMinIO() (string, error) {
	if path, err := exec.LookPath("minio"); err == nil {
		return path, nil
	}
	dirs := goPathBins()
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, "go", "bin"))
	}
	for _, dir := range dirs {
		path := filepath.Join(dir, "minio")
		if isExecutable(path) {
			return path, nil
		}
	}
	return "", fmt.Errorf("minio %w (looked in PATH and %s)", errMissing, strings.Join(dirs, ", "))
}

// goPathBins returns the bin directory of every GOPATH entry, asking the go
// command so that `go env -w GOPATH=...` is honoured.
func goPathBins() []string {
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err != nil {
		return nil
	}
	var dirs []string
	for _, dir := range filepath.SplitList(strings.TrimSpace(string(out))) {
		if dir != "" {
			dirs = append(dirs, filepath.Join(dir, "bin"))
		}
	}
	return dirs
}

// findPGBinDir returns the directory holding initdb and postgres: the one
// `pg_config --bindir` names, else the newest /usr/lib/postgresql/*/bin.
func findPGBinDir() (string, error) {
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
	return "", fmt.Errorf("PostgreSQL server (initdb, postgres) %w "+
		"(looked in `pg_config --bindir` and /usr/lib/postgresql/*/bin)", errMissing)
}

// pgMajor is the major version in /usr/lib/postgresql/VERSION/bin, or 0.
func pgMajor(binDir string) int {
	v, err := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	if err != nil {
		return 0
	}
	return v
}

// hasPGServer reports whether dir holds the binaries a test server needs.
func hasPGServer(dir string) bool {
	return dir != "" && isExecutable(filepath.Join(dir, "initdb")) && isExecutable(filepath.Join(dir, "postgres"))
}

// isExecutable reports whether path is a regular file someone may execute.
func isExecutable(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular() && info.Mode().Perm()&0o111 != 0
}

// lookupUser returns the credential (user and primary group, no
// supplementary groups) of an OS user.
func lookupUser(name string) (*syscall.Credential, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, err
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("user %s: uid %q: %w", name, u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("user %s: gid %q: %w", name, u.Gid, err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}
