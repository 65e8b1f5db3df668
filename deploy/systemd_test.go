package deploy

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"bbvault/internal/config"
)

// unit is a parsed systemd unit file: section -> key -> values in order.
type unit map[string]map[string][]string

func parseUnit(t *testing.T, path string) unit {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u, section := unit{}, ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.Trim(line, "[]")
			u[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d: not key=value in a section: %q", path, n, line)
			}
			u[section][k] = append(u[section][k], v)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return u
}

func (u unit) get(section, key string) string {
	vals := u[section][key]
	if len(vals) == 0 {
		return ""
	}
	return vals[len(vals)-1]
}

func TestServiceIsHardenedAndLockFree(t *testing.T) {
	path := filepath.Join("systemd", "bbvault@.service")
	u := parseUnit(t, path)
	want := map[string]string{
		"Type": "oneshot", "ExecStart": "/usr/local/bin/bbvault %i", "ProtectSystem": "strict",
		"NoNewPrivileges": "yes", "Nice": "10", "IOSchedulingClass": "idle", "StateDirectory": "bbvault",
		"CacheDirectory": "bbvault", "KillMode": "mixed", "PrivateTmp": "yes", "User": "bbvault",
	}
	for k, v := range want {
		if got := u.get("Service", k); got != v {
			t.Errorf("[Service] %s = %q, want %q", k, got, v)
		}
	}
	env := strings.Join(u["Service"]["Environment"], " ")
	for _, kv := range []string{"BBVAULT_CONFIG=/etc/bbvault/bbvault.yaml", "BBVAULT_STATE_DIR=/var/lib/bbvault",
		"BBVAULT_CACHE_DIR=/var/cache/bbvault"} {
		if !strings.Contains(env, kv) {
			t.Errorf("Environment lacks %s (the writable StateDirectory/CacheDirectory)", kv)
		}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "flock ") || strings.Contains(u.get("Service", "ExecStart"), "flock") {
		t.Error("the unit uses flock: repository locks handle overlap")
	}
}

func TestTimersStartTheirCommand(t *testing.T) {
	for cmd, calendar := range map[string]string{"snapshot": "*-*-* 02:00:00", "prune": "Sun *-*-* 05:00:00",
		"check": "Wed *-*-* 05:00:00"} {
		u := parseUnit(t, filepath.Join("systemd", "bbvault-"+cmd+".timer"))
		want := map[string]string{"OnCalendar": calendar, "Persistent": "true", "Unit": "bbvault@" + cmd + ".service"}
		for k, v := range want {
			if got := u.get("Timer", k); got != v {
				t.Errorf("bbvault-%s.timer %s = %q, want %q", cmd, k, got, v)
			}
		}
		if u.get("Timer", "RandomizedDelaySec") == "" || u.get("Install", "WantedBy") != "timers.target" {
			t.Errorf("bbvault-%s.timer: no RandomizedDelaySec, or not wanted by timers.target", cmd)
		}
	}
}

// TestSystemdAnalyzeVerify runs systemd's own checker (it needs no running
// systemd). ExecStart is pointed at /bin/true in a copy: the unit names the
// installed binary, which a test machine does not have.
func TestSystemdAnalyzeVerify(t *testing.T) {
	bin, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("systemd-analyze not found (Debian package systemd; scripts/install-test-deps.sh installs it)")
		}
		t.Skip("systemd-analyze not found")
	}
	dir := t.TempDir()
	entries, err := os.ReadDir("systemd")
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"verify", "--man=no"}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join("systemd", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		data = []byte(strings.ReplaceAll(string(data), "/usr/local/bin/bbvault", "/bin/true"))
		if err := os.WriteFile(filepath.Join(dir, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
		if cmd, ok := strings.CutSuffix(strings.TrimPrefix(e.Name(), "bbvault-"), ".timer"); ok {
			args = append(args, filepath.Join(dir, e.Name()), filepath.Join(dir, "bbvault@"+cmd+".service"))
		}
	}
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

func TestExampleConfigLoads(t *testing.T) {
	c, err := config.Load(config.LoadOptions{Path: "bbvault.yaml", Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatalf("deploy/bbvault.yaml: %v", err)
	}
	settings, err := c.Show("snapshot", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]any{}
	for _, s := range settings {
		got[s.Key] = s.Value
	}
	// The unit's writable directories are the ones the file names.
	if got["state_dir"] != "/var/lib/bbvault" || got["cache_dir"] != "/var/cache/bbvault" {
		t.Errorf("state_dir %v, cache_dir %v: not the unit's StateDirectory/CacheDirectory", got["state_dir"], got["cache_dir"])
	}
	u := parseUnit(t, filepath.Join("systemd", "bbvault@.service"))
	textfile, _ := got["metrics.textfile"].(string)
	if !strings.HasPrefix(textfile, strings.TrimPrefix(u.get("Service", "ReadWritePaths"), "-")+"/") {
		t.Errorf("metrics.textfile %s is not under the unit's ReadWritePaths", textfile)
	}
}
