package homegen

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"bbvault/test/testenv"
)

// smallOptions is a home small enough for a unit test that still has every
// repository shape.
func smallOptions(t *testing.T) Options {
	return Options{Dir: filepath.Join(t.TempDir(), "home"), Bytes: 12 << 20, Repos: 10,
		LooseObjects: 300, PullRequests: 120, Git: testenv.Git(t), Jobs: 2}
}

func TestGenerateMakesValidRepositories(t *testing.T) {
	o := smallOptions(t)
	s, err := Generate(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	for id := 1; id <= o.Repos; id++ {
		dir := filepath.Join(o.Dir, reposDir, itoa(id))
		out, err := exec.Command(o.Git, "--git-dir="+dir, "fsck", "--strict", "--no-progress").CombinedOutput()
		if err != nil {
			t.Errorf("git fsck of repository %d: %v\n%s", id, err, out)
		}
	}
	if s.LooseObjects < int64(o.LooseObjects)*8/10 {
		t.Errorf("%d loose objects, want about %d", s.LooseObjects, o.LooseObjects)
	}
	if s.LooseRefs < int64(2*o.PullRequests) {
		t.Errorf("%d loose refs, want at least the %d pull-request refs", s.LooseRefs, 2*o.PullRequests)
	}
	if s.Kinds["fork"] < 1 || s.Kinds["gc"] < 1 || s.Kinds["refs"] != 1 || s.Kinds["loose"] < 1 {
		t.Errorf("repository shapes %v: want at least one of each", s.Kinds)
	}
	if s.Bytes < o.Bytes/2 || s.Bytes > o.Bytes*2 {
		t.Errorf("home holds %d bytes; asked for about %d", s.Bytes, o.Bytes)
	}
	if s.BackupBytes >= s.Bytes || s.BackupFiles >= s.Files {
		t.Errorf("nothing is excluded: %d of %d bytes, %d of %d files kept", s.BackupBytes, s.Bytes, s.BackupFiles, s.Files)
	}
}

func TestForkBorrowsObjectsThroughAlternates(t *testing.T) {
	o := smallOptions(t)
	if _, err := Generate(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	specs := plan(o.withDefaults())
	fork := specs[len(specs)-1]
	if fork.Kind != kindFork {
		t.Fatalf("last repository is a %s, want a fork", fork.Kind)
	}
	dir := filepath.Join(o.Dir, reposDir, itoa(fork.ID))
	alt, err := os.ReadFile(filepath.Join(dir, "objects", "info", "alternates"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(alt), itoa(fork.Origin)) {
		t.Fatalf("alternates %q does not name the origin %d", alt, fork.Origin)
	}
	// The fork's history reaches the origin's commits, whose objects only
	// the origin has.
	out, err := exec.Command(o.Git, "--git-dir="+dir, "rev-list", "--count", "refs/heads/master").Output()
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.TrimSpace(string(out)); n == "" || n == "0" || len(n) < 2 {
		t.Fatalf("fork history has %s commits; want the origin's plus its own", n)
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	a, b := smallOptions(t), smallOptions(t)
	a.Bytes, b.Bytes = 4<<20, 4<<20
	sa, err := Generate(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := Generate(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	head := func(o Options) string {
		out, err := exec.Command(o.Git, "--git-dir="+filepath.Join(o.Dir, reposDir, "1"), "rev-parse", "HEAD").Output()
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	if head(a) != head(b) || sa.Files != sb.Files || sa.Bytes != sb.Bytes {
		t.Fatalf("same options, different homes: %+v vs %+v", sa, sb)
	}
}

func TestGenerateRefusesNonEmptyDir(t *testing.T) {
	o := smallOptions(t)
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(o.Dir, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(context.Background(), o); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("Generate into a non-empty directory: %v, want a refusal", err)
	}
}
