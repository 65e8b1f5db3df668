package metrics

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"bbvault/test/testenv"
)

var t0 = time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC)

func snapshotRun(end time.Time) *Run {
	return &Run{
		Command: "snapshot", Start: end.Add(-90 * time.Second), End: end,
		Phases:     map[string]time.Duration{"pre_lock_pass": 80 * time.Second, "locked_pass": 2 * time.Second},
		LockWindow: 2500 * time.Millisecond,
		Errors:     map[string]int{"changed_during_read": 2},
		Figures:    &Figures{BytesRead: 3 << 30, BytesAdded: 200 << 20, BytesStored: 90 << 20, Files: 56000},
	}
}

func failedRun(command string, end time.Time, code int) *Run {
	return &Run{Command: command, Start: end.Add(-time.Minute), End: end, ExitCode: code}
}

// parse reads Prometheus text with the official parser.
func parse(t *testing.T, r io.Reader) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(r)
	if err != nil {
		t.Fatalf("parse metrics: %v", err)
	}
	return mfs
}

// sample returns the value of name's series with these labels (a subset).
func sample(mfs map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	mf, ok := mfs[name]
	if !ok {
		return 0, false
	}
	for _, m := range mf.GetMetric() {
		if matches(m, labels) {
			return m.GetGauge().GetValue(), true
		}
	}
	return 0, false
}

func matches(m *dto.Metric, labels map[string]string) bool {
	for k, v := range labels {
		if labelValue(m, k) != v {
			return false
		}
	}
	return true
}

func readTextfile(t *testing.T, path string) map[string]*dto.MetricFamily {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return parse(t, f)
}

type want struct {
	name   string
	labels map[string]string
	value  float64
}

func check(t *testing.T, mfs map[string]*dto.MetricFamily, wants []want) {
	t.Helper()
	for _, w := range wants {
		got, ok := sample(mfs, w.name, w.labels)
		if !ok {
			t.Errorf("%s%v missing", w.name, w.labels)
		} else if got != w.value {
			t.Errorf("%s%v = %v, want %v", w.name, w.labels, got, w.value)
		}
	}
}

func absent(t *testing.T, mfs map[string]*dto.MetricFamily, name string, labels map[string]string) {
	t.Helper()
	if _, ok := sample(mfs, name, labels); ok {
		t.Errorf("%s%v present, want absent", name, labels)
	}
}

func TestTextfileKeepsLastSuccessAcrossFailures(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bbvault.prom")
	ctx := context.Background()
	snap := map[string]string{"command": "snapshot"}
	if err := WriteTextfile(ctx, path, snapshotRun(t0)); err != nil {
		t.Fatal(err)
	}
	mfs := readTextfile(t, path)
	check(t, mfs, []want{
		{NameLastSuccess, snap, float64(t0.Unix())}, {NameLastRun, snap, float64(t0.Unix())},
		{NameExitCode, snap, 0}, {NameDuration, snap, 90}, {NameLockWindow, snap, 2.5},
		{NamePhase, map[string]string{"command": "snapshot", "phase": "pre_lock_pass"}, 80},
		{NameRead, snap, 3 << 30}, {NameAdded, snap, 200 << 20}, {NameStored, snap, 90 << 20}, {NameFiles, snap, 56000},
		{NameErrors, map[string]string{"command": "snapshot", "kind": "changed_during_read"}, 2},
	})
	absent(t, mfs, NameKept, nil)

	// A prune and a failed snapshot later: the prune's series are added, the
	// snapshot's last success stays, its exit code and errors are the new run's.
	prune := &Run{Command: "prune", Start: t0.Add(time.Hour), End: t0.Add(time.Hour + time.Second),
		Figures: &Figures{SnapshotsKept: 14, BytesFreed: 1 << 30}}
	if err := WriteTextfile(ctx, path, prune); err != nil {
		t.Fatal(err)
	}
	failAt := t0.Add(24 * time.Hour)
	if err := WriteTextfile(ctx, path, failedRun("snapshot", failAt, 6)); err != nil {
		t.Fatal(err)
	}
	mfs = readTextfile(t, path)
	check(t, mfs, []want{
		{NameLastSuccess, snap, float64(t0.Unix())}, {NameLastRun, snap, float64(failAt.Unix())},
		{NameExitCode, snap, 6}, {NameErrors, map[string]string{"command": "snapshot", "kind": "bitbucket"}, 1},
		{NameKept, map[string]string{"command": "prune"}, 14}, {NameFreed, map[string]string{"command": "prune"}, 1 << 30},
	})
	absent(t, mfs, NameErrors, map[string]string{"command": "snapshot", "kind": "changed_during_read"})

	// A success replaces everything of the command: the old lock window goes
	// when the new run took no lock.
	next := snapshotRun(t0.Add(25 * time.Hour))
	next.LockWindow, next.Errors = 0, nil
	if err := WriteTextfile(ctx, path, next); err != nil {
		t.Fatal(err)
	}
	mfs = readTextfile(t, path)
	check(t, mfs, []want{{NameLastSuccess, snap, float64(next.End.Unix())}, {NameExitCode, snap, 0}})
	absent(t, mfs, NameLockWindow, snap)
	absent(t, mfs, NameErrors, snap)
	assertOnlyProm(t, filepath.Dir(path))
}

// assertOnlyProm: no temporary file is left where the collector reads.
func assertOnlyProm(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "bbvault.prom" && e.Name() != "bbvault.prom.lock" {
			t.Errorf("left in the textfile directory: %s", e.Name())
		}
	}
	st, err := os.Stat(filepath.Join(dir, "bbvault.prom"))
	if err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("textfile mode: %v, %v (node_exporter runs as another user)", st.Mode(), err)
	}
}

func TestTextfileConcurrentWritersLoseNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bbvault.prom")
	done := make(chan error, len(Commands))
	for _, cmd := range Commands {
		go func() {
			done <- WriteTextfile(context.Background(), path, &Run{Command: cmd, Start: t0, End: t0.Add(time.Second)})
		}()
	}
	for range Commands {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	mfs := readTextfile(t, path)
	for _, cmd := range Commands {
		if _, ok := sample(mfs, NameLastSuccess, map[string]string{"command": cmd}); !ok {
			t.Errorf("%s's run was lost by a concurrent writer", cmd)
		}
	}
}

func TestTextfileRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	if err := WriteTextfile(ctx, filepath.Join(dir, "bbvault.txt"), snapshotRun(t0)); err == nil || !strings.Contains(err.Error(), ".prom") {
		t.Errorf("a name without .prom: %v", err)
	}
	if err := WriteTextfile(ctx, filepath.Join(dir, "x.prom"), &Run{Command: "ls", End: t0}); err == nil {
		t.Error("a command without metrics was accepted")
	}
	garbage := filepath.Join(dir, "g.prom")
	if err := os.WriteFile(garbage, []byte("this is { not metrics\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteTextfile(ctx, garbage, snapshotRun(t0)); err == nil || !strings.Contains(err.Error(), "remove it") {
		t.Errorf("a damaged textfile: %v", err)
	}
	if err := WriteTextfile(ctx, filepath.Join(dir, "missing", "x.prom"), snapshotRun(t0)); err == nil {
		t.Error("a missing directory was accepted")
	}
}

// scrape reads the Pushgateway's /metrics.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return parse(t, resp.Body)
}

func TestPushToRealPushgateway(t *testing.T) {
	pg := testenv.Pushgateway(t)
	ctx := context.Background()
	opts := PushOptions{Instance: "bb-node1"}
	group := map[string]string{"job": Job, "instance": "bb-node1", "command": "snapshot"}
	if err := Push(ctx, pg.URL, snapshotRun(t0), opts); err != nil {
		t.Fatal(err)
	}
	mfs := scrape(t, pg.URL)
	check(t, mfs, []want{{NameLastSuccess, group, float64(t0.Unix())}, {NameLockWindow, group, 2.5},
		{NameAdded, group, 200 << 20}, {NameExitCode, group, 0}})

	failAt := t0.Add(26 * time.Hour)
	if err := Push(ctx, pg.URL, failedRun("snapshot", failAt, 5), opts); err != nil {
		t.Fatal(err)
	}
	checkRun := &Run{Command: "check", Start: failAt, End: failAt.Add(time.Minute), ExitCode: 9,
		Errors: map[string]int{"missing_pack": 1}, Figures: &Figures{BytesRead: 1 << 20}}
	if err := Push(ctx, pg.URL, checkRun, opts); err != nil {
		t.Fatal(err)
	}
	mfs = scrape(t, pg.URL)
	check(t, mfs, []want{
		{NameLastSuccess, group, float64(t0.Unix())}, {NameLastRun, group, float64(failAt.Unix())},
		{NameExitCode, group, 5}, {NameErrors, map[string]string{"command": "snapshot", "kind": "storage"}, 1},
		{NameErrors, map[string]string{"command": "check", "kind": "missing_pack"}, 1},
		{NameExitCode, map[string]string{"command": "check", "instance": "bb-node1"}, 9},
	})
	absent(t, mfs, NameErrors, map[string]string{"command": "snapshot", "kind": "changed_during_read"})

	if err := Push(ctx, pg.URL, snapshotRun(failAt.Add(time.Hour)), opts); err != nil {
		t.Fatal(err)
	}
	mfs = scrape(t, pg.URL)
	check(t, mfs, []want{{NameExitCode, group, 0}, {NameLastSuccess, group, float64(failAt.Add(time.Hour).Unix())}})
	absent(t, mfs, NameErrors, map[string]string{"command": "snapshot", "kind": "storage"})
}

func TestPushRetriesThenGivesUpWithoutLeakingCredentials(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 3 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	if err := Push(context.Background(), srv.URL, snapshotRun(t0), PushOptions{Instance: "h"}); err != nil {
		t.Fatalf("push after two 503s: %v", err)
	}
	if calls.Load() != 3 {
		t.Errorf("%d attempts, want 3", calls.Load())
	}

	calls.Store(0)
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, "inconsistent", http.StatusBadRequest)
	}))
	defer bad.Close()
	url := strings.Replace(bad.URL, "http://", "http://pusher:s3cret@", 1)
	err := Push(context.Background(), url, snapshotRun(t0), PushOptions{Instance: "h"})
	if err == nil || calls.Load() != 1 {
		t.Fatalf("a 400 answer: %v after %d attempts, want an error after 1", err, calls.Load())
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error leaks the password: %v", err)
	}

	bad.Close() // nothing listens any more: retried until MaxElapsed, then given up
	start := time.Now()
	err = Push(context.Background(), bad.URL, snapshotRun(t0), PushOptions{Instance: "h", MaxElapsed: 2 * time.Second})
	if err == nil {
		t.Fatal("push to a closed port succeeded")
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("gave up after %v, want about MaxElapsed (2s)", took)
	}
}

func TestPushRunsAfterCancellation(t *testing.T) {
	pg := testenv.Pushgateway(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // an interrupted run still reports
	if err := Push(ctx, pg.URL, failedRun("restore", t0, 130), PushOptions{Instance: "h"}); err != nil {
		t.Fatal(err)
	}
	check(t, scrape(t, pg.URL), []want{{NameExitCode, map[string]string{"command": "restore"}, 130}})
}
