package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"bbvault/test/testenv"
)

// opsRig is a production-like setup driven by one config file: the
// repository on MinIO, Bitbucket (the stand-in) locked for the snapshot,
// PostgreSQL reached through a libpq password file, metrics into a textfile
// and a real Pushgateway, every secret in a file of its own. Nothing is in
// the environment.
type opsRig struct {
	v        *vault
	config   string
	textfile string
	pushURL  string
	home     string
	secrets  []string
}

func newOpsRig(t *testing.T) *opsRig {
	s3 := testenv.MinIO(t)
	pg := testenv.Postgres(t)
	db := pg.NewDB(t)
	fillDB(t, pg.DSN(db))
	bb := startStandin(t)
	dir := t.TempDir()
	secret := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	rig := &opsRig{textfile: filepath.Join(dir, "textfile", "bbvault.prom"), pushURL: testenv.Pushgateway(t).URL,
		home: tinyHome(t), secrets: []string{"repo-" + randomHex(8), s3.SecretKey, standinPassword, pg.Password}}
	os.MkdirAll(filepath.Dir(rig.textfile), 0o755)
	yaml := strings.Join([]string{
		"repository: s3://" + s3.NewBucket(t) + "/bitbucket",
		"password_file: " + secret("password", rig.secrets[0]),
		"cache_dir: " + filepath.Join(dir, "cache"),
		"state_dir: " + filepath.Join(dir, "state"),
		"s3:",
		"  endpoint: " + s3.URL(),
		"  region: us-east-1",
		"  access_key_id: " + s3.AccessKey,
		"  secret_access_key_file: " + secret("s3-secret", s3.SecretKey),
		"bitbucket:",
		"  url: " + bb.URL(),
		"  user: admin",
		"  password_file: " + secret("bitbucket-password", standinPassword),
		"database:",
		"  dsn: " + pg.ChildDSN(db),
		"  pg_bin: " + pg.BinDir,
		"  pgpass_file: " + secret("pgpass", pg.Host+":"+strconv.Itoa(pg.Port)+":*:"+pg.User+":"+pg.Password),
		"metrics:",
		"  textfile: " + rig.textfile,
		"  push: " + rig.pushURL,
		"snapshot:",
		"  home: " + rig.home,
		"  tag: [nightly]",
	}, "\n") + "\n"
	rig.config = secret("bbvault.yaml", yaml)
	rig.v = localVault(t).with(t, "BBVAULT_REPOSITORY=", "BBVAULT_PASSWORD=", "BBVAULT_CACHE_DIR=", "BBVAULT_STATE_DIR=",
		"BBVAULT_CONFIG="+rig.config)
	return rig
}

// fillDB gives the database a table to dump.
func fillDB(t *testing.T, dsn string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	if _, err := conn.Exec(t.Context(), "CREATE TABLE pushes AS SELECT g AS id, md5(g::text) AS ref FROM generate_series(1, 5000) g"); err != nil {
		t.Fatal(err)
	}
}

// A snapshot configured by the file alone locks Bitbucket, dumps the
// database and writes its metrics into the textfile and the Pushgateway; a
// failed run then reports its exit code and keeps the last success.
func TestConfigFileSnapshotWithMetrics(t *testing.T) {
	rig := newOpsRig(t)
	v := rig.v
	v.ok("init")
	start := time.Now()
	s := v.snapshot()
	var list []struct {
		Home string   `json:"home"`
		Tags []string `json:"tags"`
	}
	v.json(&list, "snapshots")
	if len(list) != 1 || list[0].Home != rig.home || strings.Join(list[0].Tags, ",") != "nightly" {
		t.Errorf("the snapshot is not the one the file describes: %+v", list)
	}
	text := readFile(t, rig.textfile)
	t.Logf("textfile after the snapshot:\n%s", text)
	tf := parseMetrics(t, strings.NewReader(text))
	pushed := scrapeBbvault(t, rig.pushURL)
	t.Logf("Pushgateway /metrics (bbvault_*) after the snapshot:\n%s", pushed)
	pg := parseMetrics(t, strings.NewReader(pushed))
	for name, mfs := range map[string]map[string]*dto.MetricFamily{"textfile": tf, "Pushgateway": pg} {
		checkSnapshotMetrics(t, name, mfs, s, start)
	}

	r := v.run("snapshot", "--home", filepath.Join(t.TempDir(), "gone"))
	if r.code != 1 {
		t.Fatalf("snapshot of a missing home: %v", r)
	}
	for name, mfs := range map[string]map[string]*dto.MetricFamily{
		"textfile":    parseMetrics(t, strings.NewReader(readFile(t, rig.textfile))),
		"Pushgateway": parseMetrics(t, strings.NewReader(scrapeBbvault(t, rig.pushURL))),
	} {
		lastSuccess, _ := value(mfs, "bbvault_last_success_timestamp_seconds")
		lastRun, _ := value(mfs, "bbvault_last_run_timestamp_seconds")
		code, _ := value(mfs, "bbvault_exit_code")
		other, _ := value(mfs, "bbvault_errors", "kind", "other")
		if code != 1 || other != 1 || lastRun <= lastSuccess || lastSuccess < float64(start.Unix()) {
			t.Errorf("%s after a failed run: exit code %v, errors{kind=other} %v, last run %v, last success %v",
				name, code, other, lastRun, lastSuccess)
		}
	}
	show := v.ok("config", "show", "snapshot")
	for _, leak := range rig.secrets {
		if strings.Contains(show.stdout+r.stderr+readFile(t, rig.textfile), leak) {
			t.Errorf("a secret appears in config show, stderr or the metrics:\n%s", show.stdout)
		}
	}
	if !strings.Contains(show.stdout, "file "+rig.config+", key snapshot.home") {
		t.Errorf("config show does not say where snapshot.home came from:\n%s", show.stdout)
	}
}

// checkSnapshotMetrics checks what a user alerts on after a locked snapshot
// with a database.
func checkSnapshotMetrics(t *testing.T, where string, mfs map[string]*dto.MetricFamily, s snapshotOut, start time.Time) {
	t.Helper()
	for _, c := range []struct {
		name, label, labelValue string
		ok                      func(float64) bool
	}{
		{"bbvault_exit_code", "", "", func(v float64) bool { return v == 0 }},
		{"bbvault_last_success_timestamp_seconds", "", "", func(v float64) bool { return v >= float64(start.Unix()) }},
		{"bbvault_files", "", "", func(v float64) bool { return v == float64(s.Files) }},
		{"bbvault_read_bytes", "", "", func(v float64) bool { return v == float64(s.BytesRead) }},
		{"bbvault_added_bytes", "", "", func(v float64) bool { return v == float64(s.BytesAdded) }},
		{"bbvault_lock_window_seconds", "", "", func(v float64) bool { return v > 0 && v < 60 }},
		{"bbvault_phase_duration_seconds", "phase", "pre_lock_pass", func(v float64) bool { return v > 0 }},
		{"bbvault_phase_duration_seconds", "phase", "database", func(v float64) bool { return v > 0 }},
		{"bbvault_duration_seconds", "", "", func(v float64) bool { return v > 0 && v < time.Since(start).Seconds()+1 }},
	} {
		got, ok := value(mfs, c.name, c.label, c.labelValue)
		if !ok || !c.ok(got) {
			t.Errorf("%s: %s{%s=%q} = %v (present %v)", where, c.name, c.label, c.labelValue, got, ok)
		}
	}
}

// value is the value of name's series for command snapshot (and label=v).
func value(mfs map[string]*dto.MetricFamily, name string, label ...string) (float64, bool) {
	for _, m := range mfs[name].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["command"] == "snapshot" && (len(label) < 2 || label[0] == "" || labels[label[0]] == label[1]) {
			return m.GetGauge().GetValue(), true
		}
	}
	return 0, false
}

func parseMetrics(t *testing.T, r io.Reader) map[string]*dto.MetricFamily {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(r)
	if err != nil {
		t.Fatalf("parse Prometheus text: %v", err)
	}
	return mfs
}

// scrapeBbvault returns the bbvault_* lines of a Pushgateway's /metrics.
func scrapeBbvault(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var keep []string
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "bbvault_") || strings.HasPrefix(line, "# HELP bbvault_") || strings.HasPrefix(line, "# TYPE bbvault_") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n") + "\n"
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// webhook records what bbvault POSTs; path /refuse answers 400.
type webhook struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies []map[string]any
}

func newWebhook(t *testing.T) *webhook {
	w := &webhook{}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		w.mu.Lock()
		w.bodies = append(w.bodies, body)
		w.mu.Unlock()
		if r.URL.Path == "/refuse" {
			http.Error(rw, "no such hook", http.StatusBadRequest)
		}
	}))
	t.Cleanup(w.srv.Close)
	return w
}

func (w *webhook) received() []map[string]any {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]map[string]any(nil), w.bodies...)
}

// A failed job tells the webhooks, in either format; a success only when
// asked; a webhook or a textfile that fails is a warning, not a failure.
func TestNotificationsAndReportFailures(t *testing.T) {
	hook := newWebhook(t)
	v := localVault(t)
	v.ok("init")
	missing := filepath.Join(t.TempDir(), "gone")
	r := v.run("snapshot", missing, "--notify-url", hook.srv.URL+"/json", "--notify-url", hook.srv.URL+"/json2")
	got := hook.received()
	if r.code != 1 || len(got) != 2 {
		t.Fatalf("failed snapshot: %d notifications: %v", len(got), r)
	}
	ev := got[0]
	if ev["event"] != "failure" || ev["command"] != "snapshot" || ev["exit_code"] != 1.0 ||
		!strings.Contains(ev["error"].(string), missing) || !strings.Contains(ev["text"].(string), "failed (exit 1)") {
		t.Errorf("failure event: %v", ev)
	}
	v.ok("snapshot", tinyHome(t), "--notify-url", hook.srv.URL+"/json")
	if n := len(hook.received()); n != 2 {
		t.Errorf("a success was reported without --notify-on success (%d events)", n)
	}
	r = v.with(t, "BBVAULT_NOTIFY_ON=success", "BBVAULT_NOTIFY_FORMAT=slack", "BBVAULT_NOTIFY_URL="+hook.srv.URL+"/slack").
		run("snapshot", tinyHome(t), "--metrics-textfile", filepath.Join(t.TempDir(), "no-such-dir", "x.prom"))
	got = hook.received()
	if r.code != 0 || len(got) != 3 || len(got[2]) != 1 || !strings.Contains(got[2]["text"].(string), "succeeded") {
		t.Errorf("success in Slack format: %v; events %v", r, got)
	}
	if !strings.Contains(r.stderr, "could not write the metrics textfile") {
		t.Errorf("an unwritable textfile is not reported: %v", r)
	}
	r = v.run("snapshot", tinyHome(t), "--notify-on", "success", "--notify-url", hook.srv.URL+"/refuse")
	if r.code != 0 || !strings.Contains(r.stderr, "could not deliver the notification") || strings.Contains(r.stderr, "/refuse") {
		t.Errorf("a webhook that refuses: want exit 0, a warning that does not show the URL's path: %v", r)
	}
}

// A secret written in the config file is refused before anything runs,
// with the key to write instead, and without repeating the secret.
func TestConfigFileRefusesInlineSecrets(t *testing.T) {
	v := localVault(t)
	path := filepath.Join(t.TempDir(), "bbvault.yaml")
	writeFile(t, path, "repository: /srv/bbvault\ns3:\n  secret_access_key: wJalrXUtnFEMIexample\n")
	r := v.run("--config", path, "snapshots")
	if r.code != 2 || !strings.Contains(r.stderr, "s3.secret_access_key_file") || strings.Contains(r.stderr, "wJalrXUtnFEMIexample") {
		t.Errorf("an inline secret: want exit 2 naming s3.secret_access_key_file, not the secret: %v", r)
	}
}
