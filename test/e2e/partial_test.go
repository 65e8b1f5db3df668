package e2e

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"bbvault/test/fixture"
	"bbvault/test/testenv"
)

// exitStorage is the exit code for storage unreachable, refused or full.
const exitStorage = 5

// TestRestoreKilledLeavesNothingPartial kills a restore with SIGKILL while
// it writes a file: every file found under its real name afterwards is
// complete, byte for byte.
func TestRestoreKilledLeavesNothingPartial(t *testing.T) {
	h := newHome(t, fixture.Options{PullRequests: 50, Attachments: 20, Commits: 10, BigFile: true})
	v := localVault(t)
	v.ok("init")
	v.snapshot("--home", h.Root)
	for attempt := 1; ; attempt++ {
		target := filepath.Join(t.TempDir(), "home")
		if killWhileWriting(t, v, target, filepath.Dir(h.BigFile)) {
			files, partial := checkCompleteUnderRealNames(t, h.Root, target)
			if partial == 0 {
				t.Error("no partial file under a temporary name: the restore was not caught writing")
			}
			t.Logf("killed restore: %d complete files under real names, %d partial under temporary names", files, partial)
			return
		}
		if attempt == 5 {
			t.Fatal("five restores ended before one could be caught writing a file")
		}
	}
}

// killWhileWriting starts a restore into target and kills it with SIGKILL
// as soon as a partial file shows up in dir (relative to the home) while
// other files are complete; false when the restore ended first.
func killWhileWriting(t *testing.T, v *vault, target, dir string) bool {
	t.Helper()
	cmd := exec.Command(v.bin, "restore", "latest", "--target", target)
	cmd.Env = v.environ()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	watch := filepath.Join(target, filepath.FromSlash(dir))
	for {
		select {
		case err := <-exited:
			t.Logf("restore ended before it was caught writing (%v): %s", err, stderr.String())
			return false
		default:
		}
		if hasPartial(watch) && completeFiles(target) >= 10 {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			<-exited
			return true
		}
		time.Sleep(200 * time.Microsecond) // a poll, not a wait for luck: the loop ends on either outcome
	}
}

// completeFiles counts the regular files under their real names in dir.
func completeFiles(dir string) int {
	n := 0
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && !strings.HasPrefix(d.Name(), partialPrefix) {
			n++
		}
		return nil
	})
	return n
}

func hasPartial(dir string) bool {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), partialPrefix) {
			return true
		}
	}
	return false
}

// checkCompleteUnderRealNames fails for every regular file under target,
// other than a partial one under its temporary name, that is not exactly
// the file at the same path in src. It returns how many complete and
// partial files it found.
func checkCompleteUnderRealNames(t *testing.T, src, target string) (files, partial int) {
	t.Helper()
	err := filepath.WalkDir(target, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		if strings.HasPrefix(d.Name(), partialPrefix) {
			partial++
			return nil
		}
		rel, _ := filepath.Rel(target, p)
		got, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		want, err := os.ReadFile(filepath.Join(src, rel))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s is under its real name but not the file backed up (%d bytes, want %d; %v)", rel, len(got), len(want), err)
		}
		files++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files, partial
}

// TestRestoreOntoFullTarget restores a home larger than the file system
// it goes to: exit code 5, a message saying the target is full, no partial
// file left, every file under its real name complete.
func TestRestoreOntoFullTarget(t *testing.T) {
	mnt := testenv.Tmpfs(t, "40m")
	h := newHome(t, fixture.Options{PullRequests: 50, Attachments: 20, Commits: 10, BigFile: true})
	v := localVault(t)
	v.ok("init")
	v.snapshot("--home", h.Root)
	target := filepath.Join(mnt, "home")
	r := v.run("restore", "latest", "--target", target)
	if r.code != exitStorage || !strings.Contains(r.stderr, "full") {
		t.Fatalf("restore onto a full file system: want exit code %d and a message that it is full: %v", exitStorage, r)
	}
	checkNothingPartial(t, target, nil)
	checkCompleteUnderRealNames(t, h.Root, target)
}

// TestSparseFileRestoredSparse: a 1 GiB file holding 4 KiB of data is
// restored as such, reading the same and taking a few KiB of disk.
func TestSparseFileRestoredSparse(t *testing.T) {
	home := tinyHome(t)
	p := filepath.Join(home, "shared/sparse.img")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("data"), 1024)
	if _, err := f.WriteAt(data, 700<<20); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	v := localVault(t)
	v.ok("init")
	v.snapshot("--home", home)
	target := filepath.Join(t.TempDir(), "home")
	v.ok("restore", "latest", "--target", target)
	fixture.Compare(t, home, target, nil)
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(target, "shared/sparse.img"), &st); err != nil {
		t.Fatal(err)
	}
	if st.Size != 1<<30 || st.Blocks*512 > 1<<20 {
		t.Errorf("restored sparse file: %d bytes taking %d bytes of disk; want 1 GiB taking at most 1 MiB", st.Size, st.Blocks*512)
	}
}
