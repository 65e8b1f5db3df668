package dbstream

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// debianPostgresRoot is where Debian and Ubuntu install one bin directory per
// PostgreSQL major version (/usr/lib/postgresql/15/bin, ...).
const debianPostgresRoot = "/usr/lib/postgresql"

// Version is a PostgreSQL version in the server_version_num encoding:
// 150013 is 15.13, 90624 is 9.6.24.
type Version int

// String returns the version as PostgreSQL prints it ("15.13", "9.6.24").
func (v Version) String() string {
	n := int(v)
	if n >= 100000 {
		return fmt.Sprintf("%d.%d", n/10000, n%10000)
	}
	return fmt.Sprintf("%d.%d.%d", n/10000, n/100%100, n%100)
}

// Major returns the major version as PostgreSQL names it ("15", "9.6").
func (v Version) Major() string {
	n := int(v)
	if n >= 100000 {
		return strconv.Itoa(n / 10000)
	}
	return fmt.Sprintf("%d.%d", n/10000, n/100%100)
}

// majorKey orders major versions: 9.6 is 906, 15 is 1500.
func (v Version) majorKey() int { return int(v) / 100 }

// versionRE matches the version in "pg_dump (PostgreSQL) 15.13 (Debian ...)"
// and in development versions such as "17beta1".
var versionRE = regexp.MustCompile(`\(PostgreSQL\) (\d+)(?:\.(\d+))?(?:\.(\d+))?`)

// parseToolVersion reads the output of `pg_dump --version`.
func parseToolVersion(out string) (Version, error) {
	m := versionRE.FindStringSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("unrecognised version output %q", strings.TrimSpace(out))
	}
	var n [3]int
	for i, s := range m[1:] {
		n[i], _ = strconv.Atoi(s) // digits or empty; empty is 0
	}
	if n[0] >= 10 {
		return Version(n[0]*10000 + n[1]), nil
	}
	return Version(n[0]*10000 + n[1]*100 + n[2]), nil
}

// toolVersion runs `path --version`.
func toolVersion(ctx context.Context, path string) (Version, error) {
	out, err := exec.CommandContext(ctx, path, "--version").Output()
	if err != nil {
		return 0, fmt.Errorf("running %s --version: %w", path, err)
	}
	v, err := parseToolVersion(string(out))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// toolFinder locates the PostgreSQL client programs.
type toolFinder struct {
	binDir     string // explicit directory (--pg-bin); nothing else is searched
	debianRoot string // usually debianPostgresRoot
}

// newToolFinder returns a finder for binDir ("" searches).
func newToolFinder(binDir string) toolFinder {
	return toolFinder{binDir: binDir, debianRoot: debianPostgresRoot}
}

// find returns the path of the program name: in binDir when one is set,
// otherwise the first of PATH, `pg_config --bindir`, and the newest
// /usr/lib/postgresql/*/bin that has it.
func (f toolFinder) find(ctx context.Context, name string) (string, error) {
	if f.binDir != "" {
		p := filepath.Join(f.binDir, name)
		if !isExecutable(p) {
			return "", fmt.Errorf("%s not found in %s: point --pg-bin at the bin directory "+
				"of a PostgreSQL client installation (e.g. %s/15/bin)", name, f.binDir, f.debianRoot)
		}
		return p, nil
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range f.candidateDirs(ctx) {
		if p := filepath.Join(dir, name); isExecutable(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found in PATH, `pg_config --bindir` or %s/*/bin: "+
		"install the PostgreSQL client programs or set --pg-bin", name, f.debianRoot)
}

// candidateDirs lists `pg_config --bindir` and the Debian bin directories,
// newest major version first.
func (f toolFinder) candidateDirs(ctx context.Context) []string {
	var dirs []string
	if out, err := exec.CommandContext(ctx, "pg_config", "--bindir").Output(); err == nil {
		dirs = append(dirs, strings.TrimSpace(string(out)))
	}
	entries, _ := os.ReadDir(f.debianRoot) // a missing root just adds nothing
	var majors []float64
	for _, e := range entries {
		if m, err := strconv.ParseFloat(e.Name(), 64); err == nil {
			majors = append(majors, m)
		}
	}
	slices.Sort(majors)
	for _, m := range slices.Backward(majors) {
		dirs = append(dirs, filepath.Join(f.debianRoot, strconv.FormatFloat(m, 'f', -1, 64), "bin"))
	}
	return dirs
}

// isExecutable reports whether path is a regular file with an execute bit.
func isExecutable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0
}
