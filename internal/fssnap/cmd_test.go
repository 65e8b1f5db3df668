package fssnap_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"bbvault/internal/fssnap"
	"bbvault/test/testenv"
)

// cmdEnv is a home on a filesystem of its own (a tmpfs) and a pair of
// administrator's scripts that "snapshot" it by copying it, as a SAN clone
// would, and log what they were given.
type cmdEnv struct {
	home, copies, state, log string
	create, release          string
}

func newCmdEnv(t *testing.T) *cmdEnv {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Need(t, "the cmd provider's tests mount a tmpfs and need root")
	}
	dir := t.TempDir()
	e := &cmdEnv{home: filepath.Join(dir, "home"), copies: filepath.Join(dir, "copies"),
		state: filepath.Join(dir, "state"), log: filepath.Join(dir, "log")}
	mountTmpfs(t, e.home)
	writeFile(t, filepath.Join(e.home, "shared/a"), "a\n")
	e.create = e.script(t, "create.sh", fmt.Sprintf(`d=%q/"$BBVAULT_SNAPSHOT_NAME"
echo "create $BBVAULT_SNAPSHOT_NAME $BBVAULT_VOLUME $BBVAULT_VOLUME_FSTYPE $BBVAULT_HOME" >> %q
env | grep -i -e secret -e password >> %q || true
mkdir -p "$d" && cp -a "$BBVAULT_VOLUME/." "$d/" && chmod -R a-w "$d"
echo "copying done" >&2
echo "$d"`, e.copies, e.log, e.log))
	e.release = e.script(t, "release.sh", fmt.Sprintf(`echo "release $BBVAULT_SNAPSHOT_NAME $BBVAULT_SNAPSHOT_PATH" >> %q
if [ -d "$BBVAULT_SNAPSHOT_PATH" ]; then chmod -R u+w "$BBVAULT_SNAPSHOT_PATH" && rm -rf "$BBVAULT_SNAPSHOT_PATH"; fi`, e.log))
	return e
}

func (e *cmdEnv) script(t *testing.T, name, body string) string {
	t.Helper()
	path := filepath.Join(filepath.Dir(e.home), name)
	if err := os.WriteFile(path, []byte("#!/bin/sh\nset -e\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func (e *cmdEnv) opts() fssnap.Options {
	return fssnap.Options{Provider: fssnap.Cmd, Home: e.home, CreateCommand: e.create,
		ReleaseCommand: e.release, StateDir: e.state}
}

func records(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "fssnap-*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestCmdSnapshot(t *testing.T) {
	e := newCmdEnv(t)
	t.Setenv("BITBUCKET_PASSWORD", "bb-secret-never-shown")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "aws-secret-never-shown")
	p := prepare(t, e.opts())
	s := create(t, p)
	writeFile(t, filepath.Join(e.home, "shared/a"), "changed\n")
	if got := readFile(t, s.Path("shared/a")); got != "a\n" {
		t.Errorf("frozen shared/a = %q", got)
	}
	if want := "create " + s.Name() + " " + e.home + " tmpfs " + e.home; !strings.Contains(readFile(t, e.log), want) {
		t.Errorf("the create command was not given name, volume, type and home (%q):\n%s", want, readFile(t, e.log))
	}
	if log := readFile(t, e.log); strings.Contains(log, "never-shown") {
		t.Errorf("the create command saw bbvault's secrets:\n%s", log)
	}
	if len(records(t, e.state)) != 1 {
		t.Error("no record of the snapshot while it exists")
	}
	if err := s.Release(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(readFile(t, e.log), "release "+s.Name()+" "+s.Home()) {
		t.Errorf("the release command was not given the name and path:\n%s", readFile(t, e.log))
	}
	if _, err := os.Stat(s.Home()); !os.IsNotExist(err) || len(records(t, e.state)) != 0 {
		t.Errorf("after Release: copy %v, records %v", err, records(t, e.state))
	}
}

func TestCmdCreateFails(t *testing.T) {
	for name, body := range map[string]string{
		"exits non-zero":  `echo "SAN array unreachable" >&2; exit 3`,
		"prints no path":  `echo "snapshot requested"`,
		"prints a ghost":  `echo /nonexistent/snapshot`,
		"prints relative": `echo relative/path`,
	} {
		t.Run(name, func(t *testing.T) {
			e := newCmdEnv(t)
			opts := e.opts()
			opts.CreateCommand = e.script(t, "bad.sh", body)
			p := prepare(t, opts)
			_, err := p.Create(t.Context())
			if err == nil {
				t.Fatal("Create succeeded")
			}
			if strings.Contains(body, "unreachable") && !strings.Contains(err.Error(), "SAN array unreachable") {
				t.Errorf("error %q does not carry the command's stderr", err)
			}
			if !strings.Contains(readFile(t, e.log), "release ") || len(records(t, e.state)) != 0 {
				t.Errorf("after a failed create the release command must run and the record go: log %q, records %v",
					readFile(t, e.log), records(t, e.state))
			}
		})
	}
}

func TestCmdPreflight(t *testing.T) {
	e := newCmdEnv(t)
	notExec := filepath.Join(t.TempDir(), "create.sh")
	writeFile(t, notExec, "#!/bin/sh\n")
	for name, edit := range map[string]func(*fssnap.Options){
		"missing program": func(o *fssnap.Options) { o.CreateCommand = "/nonexistent/snap create" },
		"not executable":  func(o *fssnap.Options) { o.ReleaseCommand = notExec },
		"empty":           func(o *fssnap.Options) { o.CreateCommand = "  " },
		"no state dir":    func(o *fssnap.Options) { o.StateDir = "" },
	} {
		opts := e.opts()
		edit(&opts)
		if _, err := fssnap.Prepare(t.Context(), opts); err == nil {
			t.Errorf("%s: Prepare accepted it", name)
		}
	}
	var ce *fssnap.CommandError
	if _, err := fssnap.Prepare(t.Context(), e.opts()); err != nil || errors.As(err, &ce) {
		t.Errorf("a good configuration: %v", err)
	}
}
