package local_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"bbvault/internal/backend"
	"bbvault/internal/backend/backendtest"
	"bbvault/internal/backend/local"
	"bbvault/test/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestConformance(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) backend.Backend {
		b, err := local.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
}

// leaveTemp leaves what a Put of name killed before its rename leaves: a
// temporary file in the object's directory.
func leaveTemp(t *testing.T, b backend.Backend, name string) {
	t.Helper()
	dir := filepath.Join(strings.TrimPrefix(b.Location(), "local:"), filepath.FromSlash(path.Dir(name)))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("partial"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestLeftovers(t *testing.T) {
	backendtest.RunLeftovers(t, func(t *testing.T) backend.Backend {
		b, err := local.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return b
	}, leaveTemp)
}

func TestRemoveLeftoverRemovesOnlyTemporaryFiles(t *testing.T) {
	b, err := local.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	put(t, b, "data/ab/one", "1")
	for _, id := range []string{"data/ab/one", "../x/.tmp-1", "/etc/.tmp-1", ""} {
		if err := b.RemoveLeftover(context.Background(), backend.Leftover{Name: id, ID: id}); err == nil {
			t.Errorf("RemoveLeftover(%q) succeeded", id)
		}
	}
	if _, err := b.Stat(context.Background(), "data/ab/one"); err != nil {
		t.Errorf("the object is gone after refused RemoveLeftover calls: %v", err)
	}
}

func TestOpenMissingDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "repo")
	_, err := local.Open(dir)
	if err == nil || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("Open of a missing directory: got %v, want an error naming %s that says it does not exist", err, dir)
	}
	b, err := local.Create(dir)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if b.Location() != "local:"+dir {
		t.Errorf("Location() = %q, want %q", b.Location(), "local:"+dir)
	}
	if _, err := local.Open(dir); err != nil {
		t.Errorf("Open after Create: %v", err)
	}
}

func TestObjectsAreFilesAtTheirNames(t *testing.T) {
	dir := t.TempDir()
	b, err := local.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	put(t, b, "data/ab/cdef", "content")
	got, err := os.ReadFile(filepath.Join(dir, "data", "ab", "cdef"))
	if err != nil || string(got) != "content" {
		t.Fatalf("file DIR/data/ab/cdef: %q, %v; want \"content\"", got, err)
	}
	if leftovers := tempFiles(t, dir); len(leftovers) != 0 {
		t.Errorf("temporary files left after Put: %v", leftovers)
	}
}

func TestListSkipsTemporaryFiles(t *testing.T) {
	dir := t.TempDir()
	b, err := local.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	put(t, b, "data/ab/one", "1")
	// A crashed Put leaves its temporary file behind.
	if err := os.WriteFile(filepath.Join(dir, "data", "ab", ".tmp-12345"), []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	var names []string
	err = b.List(context.Background(), "", func(info backend.ObjectInfo) error {
		names = append(names, info.Name)
		return nil
	})
	if err != nil || len(names) != 1 || names[0] != "data/ab/one" {
		t.Errorf("List = %v, %v; want only data/ab/one", names, err)
	}
	err = b.Put(context.Background(), "data/ab/.tmp-1", bytes.NewReader(nil), 0)
	if err == nil {
		t.Error("Put of a name the backend uses for temporary files succeeded")
	}
}

func TestReadOnlyDirectory(t *testing.T) {
	b, err := local.Open(readOnlyDir(t))
	if err != nil {
		t.Fatal(err)
	}
	err = b.Put(context.Background(), "data/x", bytes.NewReader([]byte("x")), 1)
	if !errors.Is(err, backend.ErrPermission) || !strings.Contains(err.Error(), "data/x") {
		t.Errorf("Put into a read-only directory: got %v, want ErrPermission naming data/x", err)
	}
}

func TestFullDisk(t *testing.T) {
	dir := mountTmpfs(t, "size=1m")
	b, err := local.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 2<<20)
	err = b.Put(context.Background(), "data/big", bytes.NewReader(big), int64(len(big)))
	if !errors.Is(err, backend.ErrNoSpace) || !strings.Contains(err.Error(), "data/big") {
		t.Fatalf("Put larger than the disk: got %v, want ErrNoSpace naming data/big", err)
	}
	if _, err := b.Stat(context.Background(), "data/big"); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("Stat after the failed Put: got %v, want ErrNotFound", err)
	}
	if leftovers := tempFiles(t, dir); len(leftovers) != 0 {
		t.Errorf("temporary files left after the failed Put: %v", leftovers)
	}
	put(t, b, "data/small", "fits once the failed Put has cleaned up")
}

func put(t *testing.T, b backend.Backend, name, content string) {
	t.Helper()
	if err := b.Put(context.Background(), name, strings.NewReader(content), int64(len(content))); err != nil {
		t.Fatalf("Put(%q): %v", name, err)
	}
}

// tempFiles lists the temporary files under dir.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".tmp-") {
			found = append(found, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// mountTmpfs mounts a fresh tmpfs with the given options on a temporary
// directory until the test ends. It needs root.
func mountTmpfs(t *testing.T, options string) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, options); err != nil {
		testenv.Need(t, "mounting a tmpfs (%s) needs root: %v", options, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// readOnlyDir returns a directory the test process cannot write to: a
// read-only tmpfs when running as root (root ignores file modes), a
// directory with mode 0500 otherwise.
func readOnlyDir(t *testing.T) string {
	t.Helper()
	if os.Geteuid() == 0 {
		return mountTmpfs(t, "ro")
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(dir, 0o700) }) // let TempDir remove it
	return dir
}
