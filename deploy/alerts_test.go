package deploy

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"bbvault/internal/metrics"
)

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

var metricName = regexp.MustCompile(`\bbbvault_[a-z_]+\b`)

// TestAlertRules: the rule file has Prometheus's layout (unknown fields are
// errors), the alerts the README lists, and names only metrics that the
// metrics package writes.
func TestAlertRules(t *testing.T) {
	f, err := os.Open("prometheus/bbvault-alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	dec.KnownFields(true)
	var rf ruleFile
	if err := dec.Decode(&rf); err != nil {
		t.Fatalf("rule file: %v", err)
	}
	known := map[string]bool{}
	for _, n := range []string{metrics.NameLastRun, metrics.NameLastSuccess, metrics.NameExitCode, metrics.NameDuration,
		metrics.NamePhase, metrics.NameLockWindow, metrics.NameRead, metrics.NameAdded, metrics.NameStored,
		metrics.NameFreed, metrics.NameFiles, metrics.NameKept, metrics.NameErrors} {
		known[n] = true
	}
	exprs := map[string]string{}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			exprs[r.Alert] = r.Expr
			if r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
				t.Errorf("%s: no severity label or summary", r.Alert)
			}
			if strings.Count(r.Expr, "(") != strings.Count(r.Expr, ")") {
				t.Errorf("%s: unbalanced parentheses in %q", r.Alert, r.Expr)
			}
			for _, name := range metricName.FindAllString(r.Expr, -1) {
				if !known[name] {
					t.Errorf("%s uses %s, which bbvault does not write", r.Alert, name)
				}
			}
		}
	}
	want := map[string]string{
		"BbvaultBackupTooOld":     "time() - bbvault_last_success_timestamp_seconds{command=\"snapshot\"} > 26 * 3600",
		"BbvaultLockWindowLong":   "bbvault_lock_window_seconds{command=\"snapshot\"} >",
		"BbvaultCheckFoundDamage": "bbvault_exit_code{command=\"check\"} == 9",
		"BbvaultLastRunFailed":    "bbvault_exit_code != 0",
		"BbvaultDrillTooOld":      "time() - bbvault_last_success_timestamp_seconds{command=\"drill\"} > 8 * 86400",
	}
	for alert, expr := range want {
		if !strings.HasPrefix(exprs[alert], expr) {
			t.Errorf("alert %s: expr %q, want it to start with %q", alert, exprs[alert], expr)
		}
	}
}
