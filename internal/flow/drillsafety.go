package flow

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"bbvault/internal/dbstream"
	"bbvault/internal/repo"
)

// maintenanceDBs are the databases a scratch DSN may name to mean "this
// server": the drill then names the scratch database itself.
var maintenanceDBs = []string{"", "postgres", "template1"}

// preflight checks the snapshot and the scratch areas before anything is
// created: a scratch home outside the live one, a scratch database that is
// not the live one. It returns the directory the home will be restored into
// and the scratch database's name.
func (o *DrillOptions) preflight(m *repo.Manifest) (home, dbName string, err error) {
	switch {
	case m.Tree == nil:
		return "", "", fmt.Errorf("snapshot %s holds no home directory: a drill needs the home and the database", m.ShortID())
	case DatabaseOf(m) == nil:
		return "", "", fmt.Errorf("snapshot %s holds no database dump: a drill needs the home and the database", m.ShortID())
	}
	if home, err = o.scratchHome(m); err != nil {
		return "", "", err
	}
	dbName, err = o.scratchDatabase(m)
	return home, dbName, err
}

// scratchHome refuses a scratch directory inside the live home (the one the
// snapshot recorded) and names the new directory the home goes into.
func (o *DrillOptions) scratchHome(m *repo.Manifest) (string, error) {
	if o.Scratch == "" {
		return "", errors.New("no scratch directory: give one outside the live home")
	}
	dir, err := filepath.Abs(o.Scratch)
	if err != nil {
		return "", err
	}
	live := filepath.Clean(m.Home)
	if inside(resolved(dir), resolved(live)) || inside(dir, live) {
		return "", fmt.Errorf("scratch directory %s is inside the live home %s (recorded by snapshot %s): "+
			"a drill never writes there; choose a directory outside it", dir, live, m.ShortID())
	}
	name := fmt.Sprintf("bbvault-drill-%s-%s", m.ShortID(), o.Now().UTC().Format("20060102T150405Z"))
	return filepath.Join(dir, name), nil
}

// scratchDatabase names the scratch database and refuses the live one.
func (o *DrillOptions) scratchDatabase(m *repo.Manifest) (string, error) {
	if o.ScratchDB == "" {
		return "", errors.New("no scratch database server: give a DSN (e.g. postgres://USER@HOST:5432/postgres)")
	}
	a, err := dbstream.ParseAddress(o.ScratchDB)
	if err != nil {
		return "", err
	}
	name := a.Database
	if slices.Contains(maintenanceDBs, name) {
		name = "bbvault_drill_" + m.ShortID()
	}
	live := SourceDatabase(DatabaseOf(m).Meta)
	if name == live.Database && (live.Host == "" || a.SameServer(live)) {
		where := "its server"
		if live.Host != "" {
			where = fmt.Sprintf("%s port %d", live.Host, live.Port)
		}
		return "", fmt.Errorf("the scratch database %q would be the live database %q on %s (recorded by snapshot %s): "+
			"a drill never restores there; name another database in the scratch DSN, or name postgres to let "+
			"the drill name one", name, live.Database, where, m.ShortID())
	}
	return name, nil
}

// inside reports whether path is dir or below it.
func inside(path, dir string) bool {
	return path == dir || strings.HasPrefix(path, dir+string(filepath.Separator))
}

// resolved is path with the symbolic links of its existing part resolved,
// so two names of one directory compare equal.
func resolved(path string) string {
	rest := ""
	for p := path; ; p = filepath.Dir(p) {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Join(r, rest)
		}
		if _, err := os.Lstat(p); err == nil || p == filepath.Dir(p) {
			return path
		}
		rest = filepath.Join(filepath.Base(p), rest)
	}
}
