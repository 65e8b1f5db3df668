package longpath

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// deepDir makes a directory whose path is about n bytes longer than
// base's, one 100-byte name per level, and returns its path.
func deepDir(t *testing.T, base string, n int) string {
	t.Helper()
	name := strings.Repeat("x", 99)
	p := base
	for len(p)-len(base) < n {
		p += "/" + name
		at, err := Split(p)
		if err != nil {
			t.Fatal(err)
		}
		err = unix.Mkdirat(at.Dir, at.Name, 0o755)
		at.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func TestPathsLongerThanPathMax(t *testing.T) {
	dir := deepDir(t, t.TempDir(), 9000)
	file := dir + "/f"
	if _, err := os.Stat(dir); err == nil {
		t.Fatal("the test tree is not deep enough: a plain stat reached its bottom")
	}
	fd, err := Open(file, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	unix.Write(fd, []byte("deep"))
	unix.Close(fd)
	var st unix.Stat_t
	if err := Lstat(file, &st); err != nil || st.Size != 4 {
		t.Fatalf("Lstat of a file %d bytes deep: size %d, %v", len(file), st.Size, err)
	}
	d, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(d)
	if err := unix.Fstatat(d, "f", &st, unix.AT_SYMLINK_NOFOLLOW); err != nil || st.Size != 4 {
		t.Errorf("fstatat from OpenDir's descriptor: size %d, %v", st.Size, err)
	}
}

func TestShortPathsGoStraight(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	at, err := Split(p)
	if err != nil || at.Dir != unix.AT_FDCWD || at.Name != p {
		t.Fatalf("Split(%q) = %+v, %v; want AT_FDCWD and the path itself", p, at, err)
	}
	if err := at.Close(); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := Lstat(p, &st); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Lstat of a missing file: %v, want ErrNotExist", err)
	}
}
