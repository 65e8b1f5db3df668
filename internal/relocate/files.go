package relocate

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// PropertiesPath is where bitbucket.properties lives, relative to the home.
const PropertiesPath = "shared/bitbucket.properties"

// ErrNoProperties is EditFile's error when the home has no
// shared/bitbucket.properties.
var ErrNoProperties = errors.New("the restored home has no " + PropertiesPath)

// EditFile applies e to home's bitbucket.properties, replacing the file only
// when something changed.
func EditFile(home string, e Edit) (PropertiesResult, error) {
	path := filepath.Join(home, filepath.FromSlash(PropertiesPath))
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return PropertiesResult{Changes: []Change{}, Cluster: []Setting{}}, ErrNoProperties
	}
	if err != nil {
		return PropertiesResult{}, fmt.Errorf("reading %s: %w", PropertiesPath, err)
	}
	out, res := EditProperties(data, e)
	if len(res.Changes) == 0 {
		return res, nil
	}
	return res, replaceFile(path, out)
}

// replaceFile writes data over path atomically: a temporary file beside it
// with path's mode and owner, fsync, rename, fsync of the directory, whose
// times are put back.
func replaceFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	fi, err := os.Stat(path)
	var dirInfo fs.FileInfo
	if err == nil {
		dirInfo, err = os.Stat(dir) // before the temporary file changes its times
	}
	if err != nil {
		return fmt.Errorf("replacing %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".bbvault-*")
	if err != nil {
		return fmt.Errorf("replacing %s: %w", path, err)
	}
	err = fillTemp(tmp, fi, data)
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("replacing %s: %w", path, err)
	}
	// The directory keeps its times: only the file changed.
	if err := os.Chtimes(dir, accessTime(dirInfo), dirInfo.ModTime()); err != nil {
		return fmt.Errorf("replacing %s: %w", path, err)
	}
	return syncDir(dir)
}

// accessTime is fi's access time, or its modification time where the
// platform does not say.
func accessTime(fi fs.FileInfo) time.Time {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return time.Unix(st.Atim.Sec, st.Atim.Nsec)
	}
	return fi.ModTime()
}

// fillTemp writes data into tmp, gives it fi's mode and owner, and
// closes it durably.
func fillTemp(tmp *os.File, fi fs.FileInfo, data []byte) error {
	_, err := tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(fi.Mode().Perm())
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && err == nil && os.Geteuid() == 0 {
		err = tmp.Chown(int(st.Uid), int(st.Gid))
	}
	if err == nil {
		err = tmp.Sync()
	}
	return errors.Join(err, tmp.Close())
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	err = d.Sync()
	return errors.Join(err, d.Close())
}
