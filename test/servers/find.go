package servers

import (
	"errors"
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

// installHint tells the user how to get what is missing.
const installHint = "run scripts/install-test-deps.sh"

// ErrMissing marks a start failure caused by something not installed on the
// machine (a binary, the postgres OS user). Its message says what to install.
var ErrMissing = errors.New("not installed")

// missing wraps ErrMissing with what is missing, where it was looked for, and
// the install hint.
func missing(what, looked string) error {
	return fmt.Errorf("%s %w (%s): %s", what, ErrMissing, looked, installHint)
}

// FindMinIO looks for the minio binary in PATH, then in $(go env GOPATH)/bin,
// then in ~/go/bin, where scripts/install-test-deps.sh puts it.
func FindMinIO() (string, error) { return FindGoBinary("minio") }

// FindPushgateway looks for the pushgateway binary where FindMinIO looks for
// minio.
func FindPushgateway() (string, error) { return FindGoBinary("pushgateway") }

// Restic18 is the name scripts/install-test-deps.sh gives the restic it
// builds from source (the release users pick today); Debian's older restic
// keeps the name restic.
const Restic18 = "restic-0.18.1"

// FindGoBinary looks for name in PATH, then in the GOPATH bin directories
// and ~/go/bin, where scripts/install-test-deps.sh builds it.
func FindGoBinary(name string) (string, error) {
	if path, err := exec.LookPath(name); err == nil {
		return path, nil
	}
	dirs := goPathBins()
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, "go", "bin"))
	}
	for _, dir := range dirs {
		path := filepath.Join(dir, name)
		if isExecutable(path) {
			return path, nil
		}
	}
	return "", missing(name, "looked in PATH and "+strings.Join(dirs, ", "))
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

// FindPGBinDir returns the directory holding initdb and postgres: the one
// `pg_config --bindir` names, else the newest /usr/lib/postgresql/*/bin.
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
	return "", missing("PostgreSQL server (initdb, postgres)",
		"looked in `pg_config --bindir` and /usr/lib/postgresql/*/bin")
}

// pgMajor is the major version in /usr/lib/postgresql/VERSION/bin, or 0.
func pgMajor(binDir string) int {
	v, err := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	if err != nil {
		return 0
	}
	return v
}

// hasPGServer reports whether dir holds the binaries a server needs.
func hasPGServer(dir string) bool {
	return dir != "" && isExecutable(filepath.Join(dir, "initdb")) && isExecutable(filepath.Join(dir, "postgres"))
}

// isExecutable reports whether path is a regular file someone may execute.
func isExecutable(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular() && info.Mode().Perm()&0o111 != 0
}

// postgresUser returns the credential to run PostgreSQL with: nil (ourselves)
// unless we are root, which PostgreSQL refuses; then the postgres OS user.
func postgresUser() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := lookupUser("postgres")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", missing("OS user postgres",
			"needed: PostgreSQL refuses to run as root"), err)
	}
	return u, nil
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
