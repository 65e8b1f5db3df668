package fssnap_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"bbvault/internal/fssnap"
	"bbvault/test/testenv"
)

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(helperMain())
	}
	testenv.Main(m)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func prepare(t *testing.T, opts fssnap.Options) *fssnap.Plan {
	t.Helper()
	if opts.Provider == "" {
		opts.Provider = fssnap.Btrfs
	}
	p, err := fssnap.Prepare(t.Context(), opts)
	if err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	return p
}

func create(t *testing.T, p *fssnap.Plan) *fssnap.Snapshot {
	t.Helper()
	s, err := p.Create(t.Context())
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	t.Cleanup(func() { _ = s.Release(context.Background()) })
	return s
}

// snapshotsIn lists the snapshot directory of a btrfs subvolume.
func snapshotsIn(t *testing.T, subvol string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(subvol, ".bbvault-snapshots"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// The home frozen by a btrfs snapshot keeps what it held at that moment,
// refuses writes, and is gone after Release.
func TestBtrfsSnapshotIsFrozenAndReadOnly(t *testing.T) {
	fs := testenv.Btrfs(t, 256<<20)
	home := fs.Subvolume(t, "bitbucket")
	writeFile(t, filepath.Join(home, "shared/data/repositories/1/HEAD"), "ref: refs/heads/main\n")
	writeFile(t, filepath.Join(home, "shared/bitbucket.properties"), "old\n")
	p := prepare(t, fssnap.Options{Home: home})
	if got := p.Excludes(); !slices.Equal(got, []string{".bbvault-snapshots"}) {
		t.Errorf("Excludes = %v: the snapshot directory inside the home must be left out of every pass", got)
	}
	s := create(t, p)

	writeFile(t, filepath.Join(home, "shared/bitbucket.properties"), "new\n")
	writeFile(t, filepath.Join(home, "shared/data/repositories/2/HEAD"), "pushed after\n")
	if err := os.Remove(filepath.Join(home, "shared/data/repositories/1/HEAD")); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, s.Path("shared/bitbucket.properties")); got != "old\n" {
		t.Errorf("the frozen file reads %q, want the content at the snapshot", got)
	}
	if got := readFile(t, s.Path("shared/data/repositories/1/HEAD")); got != "ref: refs/heads/main\n" {
		t.Errorf("a file deleted after the snapshot reads %q in it", got)
	}
	if _, err := os.Stat(s.Path("shared/data/repositories/2")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a repository created after the snapshot is in it: %v", err)
	}
	err := os.WriteFile(s.Path("shared/x"), []byte("x"), 0o644)
	if !errors.Is(err, syscall.EROFS) {
		t.Errorf("writing into the snapshot: %v, want EROFS", err)
	}
	if err := s.Release(t.Context()); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if names := snapshotsIn(t, home); len(names) != 0 {
		t.Errorf("snapshots left after Release: %v", names)
	}
	if err := s.Release(t.Context()); err != nil {
		t.Errorf("a second Release: %v", err)
	}
}

// A home below the top of its subvolume: the snapshot is of the subvolume
// and its directory stays outside the home.
func TestBtrfsHomeInsideASubvolume(t *testing.T) {
	fs := testenv.Btrfs(t, 256<<20)
	vol := fs.Subvolume(t, "var")
	home := filepath.Join(vol, "atlassian", "bitbucket")
	writeFile(t, filepath.Join(home, "shared/a"), "a\n")
	p := prepare(t, fssnap.Options{Home: home})
	if len(p.Excludes()) != 0 {
		t.Errorf("Excludes = %v, want none: the snapshots are outside the home", p.Excludes())
	}
	s := create(t, p)
	want := filepath.Join(vol, ".bbvault-snapshots", s.Name(), "atlassian", "bitbucket")
	if s.Home() != want {
		t.Errorf("frozen home %s, want %s", s.Home(), want)
	}
	if got := readFile(t, s.Path("shared/a")); got != "a\n" {
		t.Errorf("frozen shared/a = %q", got)
	}
}

// A home over several volumes: a nested subvolume, a second filesystem
// mounted under it, and an excluded tmpfs. Each volume gets its own
// snapshot, taken together, and paths resolve into the right one.
func TestBtrfsSeveralVolumes(t *testing.T) {
	fs := testenv.Btrfs(t, 256<<20)
	home := fs.Subvolume(t, "bitbucket")
	repos := fs.Subvolume(t, "bitbucket/shared/data/repositories")
	writeFile(t, filepath.Join(repos, "7/HEAD"), "repo 7\n")
	attachments := filepath.Join(home, "shared/data/attachments")
	testenv.BtrfsAt(t, 256<<20, attachments)
	writeFile(t, filepath.Join(attachments, "a.png"), "png\n")
	caches := filepath.Join(home, "caches")
	mountTmpfs(t, caches)
	writeFile(t, filepath.Join(home, "shared/bitbucket.properties"), "props\n")

	_, err := fssnap.Prepare(t.Context(), fssnap.Options{Provider: fssnap.Btrfs, Home: home})
	if err == nil || !strings.Contains(err.Error(), "tmpfs") || !strings.Contains(err.Error(), "caches") {
		t.Fatalf("Prepare with a tmpfs under the home: %v; want it named as not btrfs", err)
	}
	p := prepare(t, fssnap.Options{Home: home, Skip: func(rel string) bool { return rel == "caches" }})
	var rels []string
	for _, v := range p.Volumes() {
		rels = append(rels, v.Rel)
	}
	slices.Sort(rels)
	if want := []string{"", "shared/data/attachments", "shared/data/repositories"}; !slices.Equal(rels, want) {
		t.Fatalf("volumes %q, want %q", rels, want)
	}
	s := create(t, p)
	writeFile(t, filepath.Join(repos, "7/HEAD"), "pushed\n")
	writeFile(t, filepath.Join(attachments, "a.png"), "changed\n")
	for rel, want := range map[string]string{
		"shared/data/repositories/7/HEAD": "repo 7\n",
		"shared/data/attachments/a.png":   "png\n",
		"shared/bitbucket.properties":     "props\n",
	} {
		if got := readFile(t, s.Path(rel)); got != want {
			t.Errorf("frozen %s = %q, want %q", rel, got, want)
		}
	}
	if err := s.Release(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{home, attachments} {
		if names := snapshotsIn(t, dir); len(names) != 0 {
			t.Errorf("snapshots left in %s: %v", dir, names)
		}
	}
}

func mountTmpfs(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", dir).Run() })
}

func TestBtrfsRefusesOtherFilesystems(t *testing.T) {
	home := t.TempDir()
	mountTmpfs(t, home)
	_, err := fssnap.Prepare(t.Context(), fssnap.Options{Provider: fssnap.Btrfs, Home: home})
	if err == nil || !strings.Contains(err.Error(), "not btrfs") {
		t.Fatalf("Prepare on tmpfs: %v, want a refusal that says it is not btrfs", err)
	}
}

// When one volume's snapshot fails, the others are released and the error
// carries what btrfs said.
func TestBtrfsFailedSnapshotReleasesTheOthers(t *testing.T) {
	fs := testenv.Btrfs(t, 256<<20)
	home := fs.Subvolume(t, "bitbucket")
	writeFile(t, filepath.Join(home, "shared/a"), "a\n")
	attachments := filepath.Join(home, "shared/data/attachments")
	testenv.BtrfsAt(t, 256<<20, attachments)
	p := prepare(t, fssnap.Options{Home: home})
	locked := filepath.Join(attachments, ".bbvault-snapshots")
	chattr(t, "+i", locked) // even root cannot add a snapshot there now
	t.Cleanup(func() { chattr(t, "-i", locked) })

	_, err := p.Create(t.Context())
	var ce *fssnap.CommandError
	if !errors.As(err, &ce) || !strings.Contains(ce.Stderr, "ERROR") || !strings.Contains(err.Error(), attachments) {
		t.Fatalf("Create: %v; want the btrfs command's error with its stderr, naming the volume", err)
	}
	if names := snapshotsIn(t, home); len(names) != 0 {
		t.Errorf("the home's snapshot was not released after the other failed: %v", names)
	}
}

func chattr(t *testing.T, flag, path string) {
	t.Helper()
	if out, err := exec.Command("chattr", flag, path).CombinedOutput(); err != nil {
		t.Fatalf("chattr %s %s: %v: %s", flag, path, err, out)
	}
}

// A btrfs volume with no free data space still snapshots (btrfs keeps a
// metadata reserve) and releases.
func TestBtrfsFullVolume(t *testing.T) {
	fs := testenv.Btrfs(t, 256<<20)
	home := fs.Subvolume(t, "bitbucket")
	fillUp(t, filepath.Join(home, "shared/data/big"))
	p := prepare(t, fssnap.Options{Home: home})
	s := create(t, p)
	if fi, err := os.Stat(s.Path("shared/data/big")); err != nil || fi.Size() == 0 {
		t.Fatalf("the frozen copy of the full volume: %v", err)
	}
	if err := s.Release(t.Context()); err != nil {
		t.Fatalf("Release on a full volume: %v", err)
	}
	if names := snapshotsIn(t, home); len(names) != 0 {
		t.Errorf("snapshots left: %v", names)
	}
}

// fillUp writes zeros into path until the filesystem is full.
func fillUp(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	_ = f.Sync()
}

// Release works after the run's context was cancelled (Ctrl-C).
func TestBtrfsReleaseAfterCancel(t *testing.T) {
	fs := testenv.Btrfs(t, 256<<20)
	home := fs.Subvolume(t, "bitbucket")
	p := prepare(t, fssnap.Options{Home: home})
	ctx, cancel := context.WithCancel(t.Context())
	s, err := p.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := s.Release(ctx); err != nil {
		t.Fatalf("Release with the run's cancelled context: %v", err)
	}
	if names := snapshotsIn(t, home); len(names) != 0 {
		t.Errorf("snapshots left: %v", names)
	}
}
