package restorer

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrTargetNotEmpty means the target directory holds something already.
var ErrTargetNotEmpty = errors.New("target directory is not empty")

// PrepareTarget creates the target directory, or accepts an existing empty
// one (lost+found allowed); anything else is refused so nothing is lost.
func PrepareTarget(dir string) error {
	fi, err := os.Lstat(dir)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create target: %w", err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("target %s exists and is not a directory; choose an empty or new directory", dir)
	}
	return checkEmpty(dir)
}

func checkEmpty(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	defer d.Close()
	for {
		names, err := d.Readdirnames(64)
		for _, n := range names {
			if n != "lost+found" {
				return fmt.Errorf("%s holds %q: %w; restore never overwrites: choose an empty or new directory", dir, n, ErrTargetNotEmpty)
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("target: %w", err)
		}
	}
}
