package testenv

import (
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"bbvault/test/servers"
)

// outcome records how Need ended a test, without ending the real one.
type outcome struct {
	testing.TB
	failed, skipped string
}

func (o *outcome) Helper() {}
func (o *outcome) Fatalf(format string, args ...any) {
	o.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (o *outcome) Skipf(format string, args ...any) {
	o.skipped = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// record runs f with an outcome in its own goroutine (Fatalf and Skipf end
// it like they end a test) and returns how it ended.
func record(f func(testing.TB)) *outcome {
	o := &outcome{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(o)
	}()
	<-done
	return o
}

func callNeed(msg string) *outcome {
	return record(func(tb testing.TB) { Need(tb, "%s", msg) })
}

func TestNeedFailsUnderCI(t *testing.T) {
	t.Setenv("CI", "true")
	o := callNeed("minio missing")
	if o.failed == "" || o.skipped != "" {
		t.Fatalf("with CI set, Need failed=%q skipped=%q, want a failure", o.failed, o.skipped)
	}
	if !strings.Contains(o.failed, "minio missing") {
		t.Errorf("failure %q does not carry the message", o.failed)
	}
}

func TestNeedSkipsOutsideCI(t *testing.T) {
	t.Setenv("CI", "")
	o := callNeed("minio missing")
	if o.skipped != "minio missing" || o.failed != "" {
		t.Fatalf("without CI, Need failed=%q skipped=%q, want a skip with the message", o.failed, o.skipped)
	}
}

func TestMissingMinIOTellsHowToInstall(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // no minio, and no go to ask for GOPATH
	t.Setenv("HOME", t.TempDir())
	_, err := servers.FindMinIO()
	if !errors.Is(err, servers.ErrMissing) {
		t.Fatalf("FindMinIO with an empty PATH and HOME: %v, want ErrMissing", err)
	}
	t.Setenv("CI", "true")
	o := record(func(tb testing.TB) { requireStarted(tb, err) })
	if !strings.Contains(o.failed, "scripts/install-test-deps.sh") {
		t.Fatalf("under CI a missing minio gives failed=%q skipped=%q, want a failure naming scripts/install-test-deps.sh",
			o.failed, o.skipped)
	}
}

func TestServersRequireMain(t *testing.T) {
	mainStarted.Store(false)
	defer mainStarted.Store(true)
	for name, start := range map[string]func(testing.TB){
		"MinIO":    func(tb testing.TB) { MinIO(tb) },
		"Postgres": func(tb testing.TB) { Postgres(tb) },
		"Bbvault":  func(tb testing.TB) { Bbvault(tb) },
	} {
		o := record(start)
		if !strings.Contains(o.failed, "func TestMain(m *testing.M) { testenv.Main(m) }") {
			t.Errorf("%s without Main: failed=%q skipped=%q, want a failure showing the TestMain to add",
				name, o.failed, o.skipped)
		}
	}
}

func TestGitFindsAWorkingBinary(t *testing.T) {
	git := Git(t)
	if out, err := exec.Command(git, "--version").Output(); err != nil || !strings.HasPrefix(string(out), "git version") {
		t.Fatalf("%s --version: %q, %v; want a git version", git, out, err)
	}
}

func TestUniqueNamesAreValidBucketAndDatabaseNames(t *testing.T) {
	bucketRE := regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`)
	dbRE := regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)
	names := []string{"", "Weird Name/With:Symbols--and__more", strings.Repeat("LongName", 20), "ümlaut/ß"}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			bucket := uniqueName(t, "t", '-', 63)
			if !bucketRE.MatchString(bucket) || strings.Contains(bucket, "--") {
				t.Errorf("bucket name %q is not a valid S3 bucket name", bucket)
			}
			db := uniqueName(t, "t", '_', 63)
			if !dbRE.MatchString(db) {
				t.Errorf("database name %q is not a plain PostgreSQL identifier", db)
			}
			if again := uniqueName(t, "t", '-', 63); again == bucket {
				t.Errorf("uniqueName returned %q twice", bucket)
			}
		})
	}
}
