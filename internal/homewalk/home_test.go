package homewalk

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"bbvault/test/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// prRefs is how many loose refs/pull-requests/N/from the test repository gets.
const prRefs = 1100

// testHome is a Bitbucket-like home built with real git in a temp dir.
type testHome struct {
	t    *testing.T
	root string
	git  string
	env  []string
}

func newTestHome(t *testing.T) *testHome {
	h := &testHome{t: t, root: t.TempDir(), git: testenv.Git(t)}
	gitHome := t.TempDir()
	h.env = append(os.Environ(), "HOME="+gitHome, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.com",
		"GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=test@example.com")
	h.buildRepositories()
	h.buildFiles()
	h.buildSpecial()
	return h
}

func (h *testHome) abs(rel string) string { return filepath.Join(h.root, rel) }

func (h *testHome) run(dir string, stdin string, args ...string) string {
	h.t.Helper()
	cmd := exec.Command(h.git, append([]string{"-c", "init.defaultBranch=master"}, args...)...)
	cmd.Dir, cmd.Env, cmd.Stdin = dir, h.env, strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		h.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func (h *testHome) file(rel, content string) {
	h.t.Helper()
	p := h.abs(rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

func (h *testHome) dir(rel string, mode uint32) {
	h.t.Helper()
	if err := os.MkdirAll(h.abs(rel), 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := unix.Chmod(h.abs(rel), mode); err != nil {
		h.t.Fatal(err)
	}
}

// buildRepositories makes repository 1 (bare, pushed to, so its objects are
// loose, with prRefs loose pull-request refs) and repository 2, a fork that
// borrows 1's objects through objects/info/alternates.
func (h *testHome) buildRepositories() {
	repo1 := h.abs("shared/data/repositories/1")
	if err := os.MkdirAll(filepath.Dir(repo1), 0o755); err != nil {
		h.t.Fatal(err)
	}
	h.run(h.root, "", "init", "-q", "--bare", repo1)
	work := h.t.TempDir()
	h.run(work, "", "init", "-q")
	for i := range 3 {
		if err := os.WriteFile(filepath.Join(work, fmt.Sprintf("file%d.txt", i)), []byte(strings.Repeat("line\n", i+1)), 0o644); err != nil {
			h.t.Fatal(err)
		}
		h.run(work, "", "add", ".")
		h.run(work, "", "commit", "-q", "-m", fmt.Sprintf("commit %d", i))
	}
	h.run(work, "", "push", "-q", repo1, "HEAD:refs/heads/master")
	head := h.run(repo1, "", "rev-parse", "HEAD")
	var stdin strings.Builder
	for n := 1; n <= prRefs; n++ {
		fmt.Fprintf(&stdin, "create refs/pull-requests/%d/from %s\n", n, head)
	}
	h.run(repo1, stdin.String(), "update-ref", "--stdin")
	h.run(h.root, "", "clone", "-q", "--bare", "--shared", repo1, h.abs("shared/data/repositories/2"))
	h.file("data/repositories/2/HEAD", "ref: refs/heads/master\n")
	h.file("data/repositories/3/HEAD", "ref: refs/heads/master\n")
}

// buildFiles makes the ordinary content: kept files, near misses of the
// default excludes, odd names, the excluded directories in both forms, and
// files for the user-pattern tests.
func (h *testHome) buildFiles() {
	for _, rel := range []string{
		"bitbucket.properties", "shared/bitbucket.properties", "shared/data/attachments/1/a1",
		"shared/data/attachments/caches/kept", "shared/data/attachments/tmp/kept", "data/dbconfig.xml",
		"search/config.yml", "shared/search/kept", "plugins/installed-plugins/p.jar",
		"shared/plugins/installed-plugins/z.jar", "shared/odd/with space", "shared/odd/new\nline",
		"shared/odd/bad\xffbyte", "shared/odd/dir with\nnewline\xff/inner", "shared/setgid/inner",
		// excluded by default, both forms
		"caches/x", "tmp/y", "log/atlassian-bitbucket.log", "export/z", ".lock", "data/db.h2.db",
		"data/db.lock.db", "search/data/idx", "plugins/.osgi-plugins/o", "shared/caches/a", "shared/tmp/b",
		"shared/log/c", "shared/export/d", "shared/.lock", "shared/data/db.h2.db", "shared/search/data/idx",
		"shared/plugins/.bundled-plugins/b",
		// for user patterns
		"x.tmp", "shared/x.tmp", "shared/data/attachments/1/notes.tmp", "shared/y.tmp/inner",
		"shared/build/out.o", "shared/data/build",
	} {
		h.file(rel, "content of "+rel)
	}
	h.dir("shared/empty", 0o755)
	h.dir("shared/setgid", 0o2775)
	h.dir("shared/sticky", 0o1777)
	if err := os.Link(h.abs("shared/data/attachments/1/a1"), h.abs("shared/data/attachments/1/a1-hardlink")); err != nil {
		h.t.Fatal(err)
	}
	for target, link := range map[string]string{
		"data/attachments":                  "shared/link-to-dir",
		"../log/atlassian-bitbucket.log":    "shared/link-dangling-into-excluded",
		"odd/bad\xffbyte with\nnewline tgt": "shared/link-odd",
	} {
		if err := os.Symlink(target, h.abs(link)); err != nil {
			h.t.Fatal(err)
		}
	}
	mt := time.Unix(1_600_000_000, 123_456_789)
	if err := os.Chtimes(h.abs("shared/bitbucket.properties"), mt, mt); err != nil {
		h.t.Fatal(err)
	}
}

// buildSpecial makes a fifo and a socket, which must be skipped with warnings.
func (h *testHome) buildSpecial() {
	if err := unix.Mkfifo(h.abs("shared/fifo"), 0o600); err != nil {
		h.t.Fatal(err)
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		h.t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: h.abs("shared/sock")}); err != nil {
		h.t.Fatal(err)
	}
}

// allPaths lists every path under the home with the standard library,
// independently of the code under test.
func (h *testHome) allPaths() map[string]bool {
	h.t.Helper()
	all := map[string]bool{}
	err := filepath.WalkDir(h.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != h.root {
			rel, _ := filepath.Rel(h.root, p)
			all[filepath.ToSlash(rel)] = true
		}
		return nil
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return all
}

// without returns the paths of all that are not one of gone or below it,
// failing if some entry of gone does not exist (the setup would be wrong).
func without(t *testing.T, all map[string]bool, gone []string) map[string]bool {
	t.Helper()
	for _, g := range gone {
		if !all[g] {
			t.Fatalf("test setup: %q does not exist in the home", g)
		}
	}
	out := map[string]bool{}
	for p := range all {
		if !underAny(p, gone) {
			out[p] = true
		}
	}
	return out
}

func underAny(p string, roots []string) bool {
	for _, r := range roots {
		if p == r || strings.HasPrefix(p, r+"/") {
			return true
		}
	}
	return false
}
