package e2e

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"bbvault/internal/backend/location"
	"bbvault/internal/flow"
	"bbvault/internal/repo"
	"bbvault/internal/repolock"
	"bbvault/test/fixture"
	"bbvault/test/standin"
	"bbvault/test/testenv"
)

// exitCase makes bbvault exit with one code of the README's table, in as
// many ways as the table's row names, and checks what it said.
type exitCase func(t *testing.T) []result

// TestExitCodesAsDocumented walks the README's exit code table through the
// real binary: every code it lists is produced by the failure it names,
// and the table lists every code the test knows.
func TestExitCodesAsDocumented(t *testing.T) {
	cases := map[int]exitCase{
		0: exitSuccess, 1: exitOther, 2: exitUsageErrors, 3: exitNoRepository, 4: exitPasswordErrors,
		5: exitStorageUnreachable, 6: exitBitbucketRefused, 7: exitStillLocked, 8: exitDatabaseFailed,
		9: exitDamage, 10: exitRepositoryLocked, 11: exitInconsistent, 130: exitInterrupted,
	}
	documented := readmeExitCodes(t)
	for _, code := range documented {
		if cases[code] == nil {
			t.Errorf("README documents exit code %d, which this test does not produce", code)
		}
	}
	for code, run := range cases {
		if !slices.Contains(documented, code) {
			t.Errorf("exit code %d is not in README's table", code)
		}
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			t.Parallel()
			for _, r := range run(t) {
				if r.code != code {
					t.Errorf("want exit code %d: %v", code, r)
				}
				if code != 0 && !strings.Contains(r.stderr, "bbvault: error: ") {
					t.Errorf("exit code %d without an error message: %v", code, r)
				}
				if hint := strings.Contains(r.stderr, "--help' for usage"); hint != (code == 2) {
					t.Errorf("exit code %d: the usage hint is shown %v, want only for exit code 2: %v", code, hint, r)
				}
			}
		})
	}
}

// readmeExitCodes are the codes of README's "Exit codes" table.
func readmeExitCodes(t *testing.T) []int {
	text, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, _ := strings.Cut(string(text), "### Exit codes\n")
	table, _, _ = strings.Cut(table, "\n#")
	var codes []int
	for _, m := range regexp.MustCompile(`(?m)^\| (\d+) \|`).FindAllStringSubmatch(table, -1) {
		n, _ := strconv.Atoi(m[1])
		codes = append(codes, n)
	}
	if len(codes) < 10 {
		t.Fatalf("README's exit code table has only %d rows", len(codes))
	}
	return codes
}

func exitSuccess(t *testing.T) []result {
	v := localVault(t)
	return []result{v.run("init"), v.run("snapshot", tinyHome(t)), v.run("version")}
}

func exitOther(t *testing.T) []result {
	v := localVault(t)
	v.ok("init")
	return []result{v.run("snapshot", filepath.Join(t.TempDir(), "no-such-home"))}
}

func exitUsageErrors(t *testing.T) []result {
	v := localVault(t)
	v.ok("init")
	home := tinyHome(t)
	v.ok("snapshot", home)
	foreign := t.TempDir()
	writeFile(t, filepath.Join(foreign, "notes.txt"), "not a repository\n")
	target := filepath.Join(t.TempDir(), "target")
	out := []result{
		v.run("bogus"), v.run("snapshto"), v.run("version", "extra"), v.run("index", "bogus"),
		v.run("snapshots", "--no-such-flag"),
		v.with(t, "BBVAULT_REPOSITORY="+filepath.Join(t.TempDir(), "new")).run("init", "--compression", "bogus"),
		v.with(t, "BBVAULT_REPOSITORY=s3://").run("init"),
		v.with(t, "BBVAULT_REPOSITORY=s3:///prefix").run("snapshots"),
		v.with(t, "BBVAULT_REPOSITORY="+foreign).run("init"),
		v.run("prune", "--keep", "1", "--keep-all"),
		v.run("check", "--lock-wait", "-5s"),
		v.run("restore", "latest", "--target", target, "--workers", "-1"),
		v.run("restore", "latest", "--target", target, "--include", "shared/no-such-path"),
		v.run("snapshot", home, "--home", t.TempDir()),
		v.run("snapshot", home, "--read-workers", "0"),
		v.with(t, "BBVAULT_LOG_FORMAT=xml").run("snapshots"),
	}
	if _, err := os.Lstat(target); !os.IsNotExist(err) {
		t.Errorf("a refused restore created its target (%v)", err)
	}
	if entries, _ := os.ReadDir(foreign); len(entries) != 1 {
		t.Errorf("a refused init wrote into the directory: %d entries", len(entries))
	}
	return out
}

func exitNoRepository(t *testing.T) []result {
	v := localVault(t)
	out := []result{v.run("snapshots")}
	v.ok("init")
	return append(out, v.run("init"))
}

func exitPasswordErrors(t *testing.T) []result {
	v := localVault(t)
	v.ok("init")
	out := []result{
		v.with(t, "BBVAULT_PASSWORD=wrong").run("snapshots"),
		v.with(t, "BBVAULT_PASSWORD=").run("snapshots"),
		v.with(t, "BBVAULT_PASSWORD=", "BBVAULT_PASSWORD_FILE="+filepath.Join(t.TempDir(), "absent")).run("snapshots"),
	}
	fresh := v.with(t, "BBVAULT_PASSWORD=", "BBVAULT_REPOSITORY="+filepath.Join(t.TempDir(), "repo"))
	r := fresh.onTerminal("first-password\nsecond-password\n", "init")
	if !strings.Contains(r.stderr, "differ") {
		t.Errorf("init with two different passwords does not say they differ: %v", r)
	}
	if _, err := os.Stat(fresh.env["BBVAULT_REPOSITORY"]); !os.IsNotExist(err) {
		t.Errorf("init with two different passwords created the repository (%v)", err)
	}
	return append(out, r)
}

// exitStorageUnreachable: S3 down when the repository is opened, and S3
// gone in the middle of an upload; both after 6 attempts (about 30 s each,
// run at once).
func exitStorageUnreachable(t *testing.T) []result {
	atOpen := s3Vault(t).with(t, "AWS_ENDPOINT_URL=http://"+closedPort(t)).start("snapshots")
	v := s3Vault(t)
	v.ok("init")
	proxy := newCutProxy(t, testenv.MinIO(t).Endpoint, 2<<20)
	home := tinyHome(t)
	writeRandomFile(t, filepath.Join(home, "shared/data/attachments/big.bin"), 8<<20)
	midUpload := v.with(t, "AWS_ENDPOINT_URL=http://"+proxy.addr()).start("snapshot", home)
	out := []result{atOpen.wait(), midUpload.wait()}
	if !proxy.wasCut() {
		t.Errorf("the snapshot sent less than the proxy lets through: %v", out[1])
	}
	for _, r := range out {
		if !strings.Contains(r.stderr, "giving up after 6 attempts") {
			t.Errorf("the error does not say it tried 6 times: %v", r)
		}
	}
	return out
}

func exitBitbucketRefused(t *testing.T) []result {
	bb := startStandin(t)
	v := localVault(t)
	v.ok("init")
	return []result{v.with(t, "BITBUCKET_URL="+bb.URL(), "BITBUCKET_USER=admin", "BITBUCKET_PASSWORD=wrong").run("snapshot", tinyHome(t))}
}

func exitStillLocked(t *testing.T) []result {
	bb := startStandin(t)
	v := localVault(t)
	v.ok("init")
	sf := flow.StateFile{Path: filepath.Join(v.env["BBVAULT_STATE_DIR"], "bitbucket-lock.json")}
	if err := sf.Save(flow.LockState{BaseURL: bb.URL(), UnlockToken: "token-of-a-killed-run", LockedAt: time.Now(),
		Host: "elsewhere", PID: 1}); err != nil {
		t.Fatal(err)
	}
	r := v.with(t, "BITBUCKET_URL="+bb.URL(), "BITBUCKET_USER=admin", "BITBUCKET_PASSWORD="+standinPassword).run("snapshot", tinyHome(t))
	if !strings.Contains(r.stderr, "bbvault unlock") {
		t.Errorf("does not say to run bbvault unlock: %v", r)
	}
	return []result{r}
}

func exitDatabaseFailed(t *testing.T) []result {
	pg := testenv.Postgres(t)
	v := localVault(t)
	v.ok("init")
	return []result{v.with(t, "PGPASSWORD="+pg.Password).run("snapshot", tinyHome(t), "--pg-bin", pg.BinDir,
		"--db", pg.ChildDSN("no_such_database"))}
}

func exitDamage(t *testing.T) []result {
	v := localVault(t)
	v.ok("init")
	home := tinyHome(t)
	writeRandomFile(t, filepath.Join(home, "shared/data/attachments/a.bin"), 1<<20)
	v.ok("snapshot", home)
	packs, _ := filepath.Glob(filepath.Join(v.env["BBVAULT_REPOSITORY"], "data", "*", "*"))
	if len(packs) == 0 {
		t.Fatal("no pack in the repository")
	}
	f, err := os.OpenFile(packs[0], os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteAt([]byte("damage"), 1000)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	return []result{v.run("check", "--read-data")}
}

// exitInconsistent: a drill of a snapshot whose home lost a repository
// directory the database still names.
func exitInconsistent(t *testing.T) []result {
	pg := testenv.Postgres(t)
	h := newHome(t, fixture.Options{Repos: 2, Commits: 2, LooseCommits: 1, PullRequests: 2, Attachments: 1})
	db := pg.NewDB(t)
	fixture.BitbucketDatabase(t, pg.DSN(db), h)
	if err := os.RemoveAll(h.RepoDir(2)); err != nil {
		t.Fatal(err)
	}
	v := localVault(t).with(t, "PGPASSWORD="+pg.Password)
	v.ok("init")
	v.ok("snapshot", h.Root, "--pg-bin", pg.BinDir, "--db", pg.ChildDSN(db))
	r := v.run("drill", "--scratch", t.TempDir(), "--db-scratch", pg.ChildDSN("postgres"), "--pg-bin", pg.BinDir)
	if !strings.Contains(r.stdout, "INCONSISTENT") || !strings.Contains(r.stdout, "repository 2") {
		t.Errorf("drill does not name the repository without its directory: %v", r)
	}
	return []result{r}
}

func exitRepositoryLocked(t *testing.T) []result {
	v := localVault(t)
	v.ok("init")
	holdExclusiveLock(t, v)
	return []result{v.run("snapshot", tinyHome(t))}
}

// exitInterrupted: a snapshot waiting for a repository lock gets SIGINT.
func exitInterrupted(t *testing.T) []result {
	v := localVault(t)
	v.ok("init")
	holdExclusiveLock(t, v)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, v.bin, "snapshot", tinyHome(t), "--lock-wait", "10m", "-v")
	cmd.Env = v.environ()
	stderrPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	sc := bufio.NewScanner(stderrPipe)
	for sc.Scan() {
		stderr.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), "waiting for a conflicting repository lock") {
			cmd.Process.Signal(syscall.SIGINT)
			break
		}
	}
	rest, _ := io.ReadAll(stderrPipe)
	stderr.Write(rest)
	r := result{args: cmd.Args[1:], stderr: stderr.String()}
	if err := cmd.Wait(); err != nil {
		r.code = cmd.ProcessState.ExitCode()
	}
	if !strings.Contains(r.stderr, "interrupted (SIGINT)") {
		t.Errorf("does not say it was interrupted: %v", r)
	}
	return []result{r}
}

// holdExclusiveLock takes v's repository's exclusive lock until the test
// ends, as a running prune does.
func holdExclusiveLock(t *testing.T, v *vault) {
	t.Helper()
	ctx := context.Background()
	be, err := location.Open(ctx, v.env["BBVAULT_REPOSITORY"], location.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := repo.Open(ctx, be, []byte(v.env["BBVAULT_PASSWORD"]), repo.OpenOptions{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	lock, err := repolock.Acquire(ctx, r, repolock.Options{Exclusive: true, Command: "prune"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		lock.Unlock()
		r.Close()
		be.Close()
	})
}

const standinPassword = "stand-in-password"

func startStandin(t *testing.T) *standin.Server {
	t.Helper()
	bb := standin.New(standin.Options{User: "admin", Password: standinPassword})
	if err := bb.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bb.Close() })
	return bb
}

// closedPort is a 127.0.0.1 address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// writeRandomFile writes size random bytes: data that neither compresses
// nor deduplicates.
func writeRandomFile(t *testing.T, p string, size int) {
	t.Helper()
	b := make([]byte, size)
	rand.Read(b)
	writeFile(t, p, string(b))
}
