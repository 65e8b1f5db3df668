package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"bbvault/internal/drill"
	"bbvault/internal/flow"
	"bbvault/internal/metrics"
	"bbvault/test/fixture"
	"bbvault/test/testenv"
)

var (
	drillShape = shape{"snapshot": "string", "ok": "bool", "verdict": "string", "restore_ms": "number",
		"home_restore_ms": "number", "database_restore_ms": "number", "checks_ms": "number", "duration_ms": "number",
		"files": "number", "bytes": "number", "tables": "number", "rows": "number", "repository_rows": "number",
		"repository_directories": "number", "forks": "number", "repositories_checked": "number",
		"repositories_per_second": "number", "sample": "number", "open_pull_requests": "number",
		"pull_request_refs_missing": "number", "problems": "array", "errors": "array", "scratch_home": "string",
		"scratch_database": "string", "kept": "bool"}
	drillProblemShape = shape{"kind": "string", "class": "string", "repository": "number", "table": "string", "message": "string"}
	alternatesShape   = shape{"old_home": "string", "new_home": "string", "files": "number", "rewritten": "array",
		"outside": "array"}
	propertiesShape = shape{"path": "string", "changes": "array", "cluster_settings": "array", "jdbc_url": "string",
		"jdbc_user": "string", "base_url": "string"}
	stepShape = shape{"name": "string", "skipped": "bool", "duration_ms": "number", "detail": "object"}
)

// drillEnv is a Bitbucket-like home with real git and a database that
// agrees with it, and a repository, used through the CLI.
type drillEnv struct {
	*cliEnv
	h  *fixture.Home
	db string
}

func newDrillEnv(t *testing.T) *drillEnv {
	dir := t.TempDir()
	pg := testenv.Postgres(t)
	c := &cliEnv{t: t, pg: pg, env: map[string]string{"BBVAULT_REPOSITORY": filepath.Join(dir, "repo"),
		"BBVAULT_PASSWORD": "pw", "BBVAULT_CACHE_DIR": filepath.Join(dir, "cache"), "XDG_STATE_HOME": filepath.Join(dir, "state")}}
	e := &drillEnv{cliEnv: c, db: pg.NewDB(t)}
	e.h = fixture.GitHome(t, filepath.Join(dir, "live"), fixture.Options{Repos: 3, Commits: 6, LooseCommits: 2,
		PullRequests: 12, Attachments: 2})
	c.home, c.src = e.h.Root, pg.DSN(e.db)
	fixture.BitbucketDatabase(t, c.src, e.h)
	c.json(0, "init")
	return e
}

// drill runs a drill of the latest snapshot with --json, wanting exit want.
func (e *drillEnv) drill(t *testing.T, want int, extra ...string) map[string]any {
	t.Helper()
	args := append([]string{"drill", "--scratch", filepath.Join(t.TempDir(), "scratch"), "--db-scratch", e.pg.DSN("postgres")}, extra...)
	out := asObject(t, "drill", e.json(want, args...))
	assertShape(t, "drill", out, drillShape)
	problems, _ := out["problems"].([]any)
	for _, p := range problems {
		assertSubShape(t, "drill problem", p, drillProblemShape, "kind", "class", "message")
	}
	return out
}

// TestDrillCommand: a good snapshot passes with exit 0; a repository
// directory removed is an inconsistency (exit 11), a corrupt object damage
// (exit 9), each named in the output.
func TestDrillCommand(t *testing.T) {
	e := newDrillEnv(t)
	e.json(0, "snapshot", "--home", e.home, "--db", e.src)
	prom := filepath.Join(t.TempDir(), "bbvault.prom")
	ok := e.drill(t, 0, "--metrics-textfile", prom)
	if ok["verdict"] != "ok" || ok["repositories_checked"] != 5.0 || ok["forks"] != 2.0 || ok["rows"].(float64) < 5000 {
		t.Errorf("drill of a good snapshot: %v", ok)
	}
	if _, err := os.Stat(ok["scratch_home"].(string)); !os.IsNotExist(err) {
		t.Errorf("scratch home left behind (%v)", err)
	}

	os.RemoveAll(e.h.RepoDir(2))
	e.json(0, "snapshot", "--home", e.home, "--db", e.src)
	bad := e.drill(t, exitInconsistent, "--metrics-textfile", prom)
	p := asObject(t, "problem", asList(t, "problems", bad["problems"], 1)[0])
	if bad["verdict"] != "inconsistent" || p["kind"] != "missing_directory" || p["repository"] != 2.0 {
		t.Errorf("drill with a repository directory removed: %v", bad)
	}
	checkDrillMetrics(t, prom)

	stdout, stderr, code := runCLI(t, e.env, "drill", "--scratch", t.TempDir(), "--db-scratch", e.pg.DSN("postgres"), "--sample", "50%")
	if code != exitInconsistent || !strings.Contains(stdout, "INCONSISTENT") || !strings.Contains(stdout, "repository 2") {
		t.Errorf("drill's text output (exit %d): %s\n%s", code, stdout, stderr)
	}
	t.Logf("drill printed:\n%s", stdout)
}

func TestDrillRefusesBadFlags(t *testing.T) {
	env := map[string]string{"BBVAULT_REPOSITORY": t.TempDir(), "BBVAULT_PASSWORD": "pw"}
	for _, args := range [][]string{
		{"drill", "--db-scratch", "postgres://x@h/postgres"},
		{"drill", "--scratch", "/tmp/x"},
		{"drill", "--scratch", "/tmp/x", "--db-scratch", "postgres://x@h/postgres", "--sample", "150%"},
		{"drill", "--scratch", "/tmp/x", "--db-scratch", "postgres://x@h/postgres", "--sample", "10"},
		{"restore", "latest", "--target", "/tmp/x", "--jdbc-password-file", "/etc/hostname"},
		{"restore", "latest", "--db-only", "--db-target", "postgres://x@h/db", "--strip-cluster-settings"},
	} {
		if _, stderr, code := runCLI(t, env, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d: %s", args, code, exitUsage, stderr)
		}
	}
}

// TestRestoreOntoANewEnvironmentCommand: --db-target and
// --jdbc-password-file rewrite bitbucket.properties, forks are fitted to the
// new path, and the output lists both and the snapshot's origin.
func TestRestoreOntoANewEnvironmentCommand(t *testing.T) {
	e := newDrillEnv(t)
	e.json(0, "snapshot", "--home", e.home, "--db", e.src)
	pwFile := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pwFile, []byte("n3w-secret\n"), 0o600)
	target := filepath.Join(t.TempDir(), "new")
	db := e.newTargetName()
	out := asObject(t, "restore", e.json(0, "restore", "latest", "--target", target, "--db-target", e.pg.DSN(db),
		"--jdbc-password-file", pwFile))
	steps := asList(t, "restore steps", out["steps"], 2)
	for _, s := range steps {
		assertShape(t, "restore step", s, stepShape)
	}
	assertShape(t, "alternates step", asObject(t, "step", steps[0])["detail"], alternatesShape)
	props := asObject(t, "properties step", asObject(t, "step", steps[1])["detail"])
	assertShape(t, "properties step", props, propertiesShape)
	for _, c := range asList(t, "changes", props["changes"], 3) {
		assertShape(t, "change", c, shape{"key": "string", "action": "string", "old": "string", "new": "string"})
		if strings.Contains(c.(map[string]any)["new"].(string), "n3w-secret") {
			t.Errorf("the output shows the new password: %v", c)
		}
	}
	b, err := os.ReadFile(filepath.Join(target, "shared", "bitbucket.properties"))
	if err != nil || !strings.Contains(string(b), "/"+db+"?sslmode=disable\n") || !strings.Contains(string(b), "jdbc.password=n3w-secret\n") {
		t.Errorf("bitbucket.properties (%v):\n%s", err, b)
	}
	if err := fixture.Fsck(t.Context(), filepath.Join(target, fixture.RepoRel(e.h.Fork))); err != nil {
		t.Errorf("the fork in the new place: %v", err)
	}

	stdout, stderr, code := runCLI(t, e.env, "restore", "latest", "--target", filepath.Join(t.TempDir(), "h"), "--strip-cluster-settings")
	for _, want := range []string{"database settings left as they were", "forks: alternates rewritten from " + e.h.Root,
		"the snapshot recorded: home " + e.h.Root, "database " + e.db} {
		if code != 0 || !strings.Contains(stdout, want) {
			t.Errorf("restore's text output (exit %d) lacks %q:\n%s\n%s", code, want, stdout, stderr)
		}
	}
	t.Logf("restore printed:\n%s", stdout)
}

// checkDrillMetrics: the textfile of a good drill, then a failed one,
// keeps the good one's last success, and says why the last one failed.
func checkDrillMetrics(t *testing.T, path string) {
	t.Helper()
	mfs := readTextfile(t, path)
	success, last := gauge(mfs[metrics.NameLastSuccess], "drill"), gauge(mfs[metrics.NameLastRun], "drill")
	if success <= 0 || last <= success {
		t.Errorf("last successful drill %v, last drill %v: want the good drill's time, before the failed one's", success, last)
	}
	if v := gauge(mfs[metrics.NameExitCode], "drill"); v != exitInconsistent {
		t.Errorf("drill exit code %v, want %d", v, exitInconsistent)
	}
	if v := labelled(mfs[metrics.NameErrors], "kind", "missing_directory"); v != 1 {
		t.Errorf("bbvault_errors{kind=\"missing_directory\"} %v, want 1", v)
	}
	if v := gauge(mfs[metrics.NameFiles], "drill"); v <= 0 {
		t.Errorf("files restored by the drill %v, want some", v)
	}
}

// readTextfile parses a Prometheus textfile the way node_exporter does.
func readTextfile(t *testing.T, path string) map[string]*dto.MetricFamily {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(f)
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}

func gauge(mf *dto.MetricFamily, command string) float64 {
	return labelled(mf, "command", command)
}

// labelled is the value of mf's series with label name=value, -1 for none.
func labelled(mf *dto.MetricFamily, name, value string) float64 {
	for _, m := range mf.GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == name && l.GetValue() == value {
				return m.GetGauge().GetValue()
			}
		}
	}
	return -1
}

// TestDrillExitCode: the restore's failure decides first, then the worst
// problem, warnings being none.
func TestDrillExitCode(t *testing.T) {
	damaged := drill.Problem{Kind: drill.KindFsck, Class: drill.Damaged}
	inconsistent := drill.Problem{Kind: drill.KindOrphanDirectory, Class: drill.Inconsistent}
	warning := drill.Problem{Kind: drill.KindPullRequestRefs, Class: drill.Warning}
	dbFailed := &flow.RestoreResult{Home: &flow.HomeResult{}, Database: &flow.DatabaseResult{Err: fmt.Errorf("%w restore: x", flow.ErrDatabase)}}
	restored := &flow.RestoreResult{Home: &flow.HomeResult{}, Database: &flow.DatabaseResult{}}
	cases := []struct {
		res  flow.DrillResult
		want int
	}{
		{flow.DrillResult{Restore: dbFailed}, exitDatabase},
		{flow.DrillResult{Restore: restored, Checks: &drill.Report{Problems: []drill.Problem{inconsistent, damaged}}}, exitIntegrity},
		{flow.DrillResult{Restore: restored, Checks: &drill.Report{Problems: []drill.Problem{warning, inconsistent}}}, exitInconsistent},
		{flow.DrillResult{Restore: restored, Checks: &drill.Report{Problems: []drill.Problem{warning}},
			CleanupErr: errors.New("dropping")}, exitFailure},
	}
	for i, c := range cases {
		if got := drillExitCode(&c.res); got != c.want {
			t.Errorf("case %d: exit %d, want %d", i, got, c.want)
		}
	}
	if err := (&flow.DrillResult{Restore: restored, Checks: &drill.Report{Problems: []drill.Problem{warning}}}).Err(); err != nil {
		t.Errorf("a drill with only warnings fails: %v", err)
	}
}
