package report

import (
	"bytes"
	"strings"
	"testing"
)

func sample() *Results {
	return &Results{Profile: "test", Rows: []Row{
		{Scenario: Initial, Tool: "bbvault", Dest: "local", WallMs: 600, CPUMs: 500, MaxRSS: 100 << 20, LockMs: 80, Stored: 10 << 20},
		{Scenario: Initial, Tool: "restic", Dest: "local", WallMs: 1000, CPUMs: 900, MaxRSS: 200 << 20, Stored: 11 << 20},
		{Scenario: Initial, Tool: "restic18", Dest: "local", WallMs: 800, CPUMs: 700, MaxRSS: 80 << 20, Stored: 9 << 20},
		{Scenario: Initial, Tool: "diy", Dest: "local", WallMs: 2000, CPUMs: 1900, MaxRSS: 20 << 20, LockMs: 1000, Staging: 30 << 20},
		{Scenario: NoChange, Tool: "bbvault", Dest: "local", WallMs: 300, MaxRSS: 90 << 20, LockMs: 50},
		{Scenario: NoChange, Tool: "restic", Dest: "local", WallMs: 500, MaxRSS: 150 << 20},
		{Scenario: NoChange, Tool: "diy", Dest: "local", WallMs: 900, LockMs: 900},
		{Scenario: Day, Tool: "bbvault", Dest: "local", NA: "bbvault has no \"snapshot\" command yet"},
		{Scenario: Day, Tool: "restic", Dest: "local", WallMs: 700},
	}}
}

func TestRatio(t *testing.T) {
	res := sample()
	r, why := Ratio(res, Initial, "local", "bbvault", "restic", wallMs)
	if why != "" || r != 0.6 {
		t.Fatalf("wall ratio = %v (%q), want 0.6", r, why)
	}
	if _, why := Ratio(res, Day, "local", "bbvault", "restic", wallMs); !strings.Contains(why, "snapshot") {
		t.Fatalf("ratio with an n/a row: reason %q, want the n/a reason", why)
	}
	if _, why := Ratio(res, Initial, "local", "bbvault", "restic", lockMs); why == "" {
		t.Fatal("a lock ratio against restic, which takes no lock, should have no value")
	}
}

func TestComputeAims(t *testing.T) {
	aims := ComputeAims(sample(), []string{"local"})
	got := map[string]Aim{}
	for _, a := range aims {
		got[a.Name] = a
	}
	check := func(name, status string, ratio float64) {
		t.Helper()
		a := got[name]
		if !strings.HasPrefix(a.Status, status) || (ratio != 0 && a.Ratio != ratio) {
			t.Errorf("%s: %+v; want %s at %v", name, a, status, ratio)
		}
	}
	check("lock window <= 0.1x DIY", "n/a", 0) // the day-of-work row is n/a
	check("initial snapshot wall <= 0.67x restic", "met", 0.6)
	check("no-change snapshot wall <= 0.5x restic", "missed", 0.6)
	check("day-of-work snapshot wall <= 0.5x restic", "n/a", 0)
	check("restore wall <= 0.67x restic", "n/a", 0)
	check("peak RSS <= restic's", "n/a", 0) // the day-of-work row is n/a
	check("initial snapshot wall <= 0.67x restic18", "missed", 0.75)
	check("peak RSS <= restic18's", "n/a", 0) // not measured in the other scenarios
	check("staging disk 0", "met", 0)
}

func TestTablesShowRowsRatiosAndReasons(t *testing.T) {
	res := sample()
	res.Aims = ComputeAims(res, []string{"local"})
	var text, md bytes.Buffer
	WriteText(&text, res, []string{"bbvault", "restic", "diy"}, []string{"local"})
	WriteMarkdown(&md, res, []string{"bbvault", "restic", "diy"}, []string{"local"})
	for _, want := range []string{"== initial, local", "bbvault/restic", "0.60x", "0.08x", "n/a", "has no \"snapshot\" command yet", "aims"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text table lacks %q:\n%s", want, text.String())
		}
	}
	if !strings.Contains(md.String(), "| bbvault/diy | 0.30x |") {
		t.Errorf("markdown lacks the bbvault/diy wall ratio:\n%s", md.String())
	}
}

func TestSummary(t *testing.T) {
	var md bytes.Buffer
	WriteSummary(&md, sample(), []string{"local"})
	for _, want := range []string{"| initial | local | 0.60 | 1.00 | 0.80 | 2.00 | 0.60x | 0.75x | 0.30x | 80 | 1000 | 100.0 | 200.0 | 80.0 |",
		"| day-of-work | local | n/a | 0.70 | n/a | n/a | - | - | - |"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, md.String())
		}
	}
}
