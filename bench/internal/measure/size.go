package measure

import (
	"errors"
	"io/fs"
	"path/filepath"
)

// DirSize sums the sizes of the regular files under dir and counts them.
// A directory that does not exist is empty.
func DirSize(dir string) (bytes, files int64, err error) {
	err = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		bytes += info.Size()
		files++
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return bytes, files, nil
	}
	return bytes, files, err
}
