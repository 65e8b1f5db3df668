package report

import (
	"fmt"
	"math"
)

// Aim is one of the targets, checked against the measured ratio.
// The harness reports them; it never fails a run on them.
type Aim struct {
	Name     string  `json:"name"`
	Dest     string  `json:"dest"`
	Scenario string  `json:"scenario,omitempty"`
	Target   float64 `json:"target"`          // the highest bbvault/peer ratio that meets the aim
	Ratio    float64 `json:"ratio,omitempty"` // measured bbvault/peer (the worst over the scenarios checked)
	Status   string  `json:"status"`          // "met", "missed" or "n/a: why"
}

// ratioAim compares a metric of bbvault with a peer's over some scenarios.
type ratioAim struct {
	name      string
	peer      string
	metric    func(Row) float64
	target    float64
	scenarios []string
}

var ratioAims = append([]ratioAim{
	{"lock window <= 0.1x DIY", "diy", lockMs, 0.1, []string{Initial, NoChange, Day}},
}, append(resticAims("restic"), resticAims("restic18")...)...)

// resticAims are the aims against one restic: Debian's (restic) and the
// release users pick today (restic18).
func resticAims(peer string) []ratioAim {
	return []ratioAim{
		{"initial snapshot wall <= 0.67x " + peer, peer, wallMs, 0.67, []string{Initial}},
		{"no-change snapshot wall <= 0.5x " + peer, peer, wallMs, 0.5, []string{NoChange}},
		{"day-of-work snapshot wall <= 0.5x " + peer, peer, wallMs, 0.5, []string{Day}},
		{"restore wall <= 0.67x " + peer, peer, wallMs, 0.67, []string{Restore}},
		{"peak RSS <= " + peer + "'s", peer, rss, 1, []string{Initial, NoChange, Day, Restore, Prune}},
	}
}

func lockMs(r Row) float64 { return r.LockMs }
func wallMs(r Row) float64 { return r.WallMs }
func rss(r Row) float64    { return float64(r.MaxRSS) }

// ComputeAims checks every aim at every destination the run used.
func ComputeAims(res *Results, dests []string) []Aim {
	var aims []Aim
	for _, dest := range dests {
		for _, a := range ratioAims {
			aims = append(aims, a.check(res, dest))
		}
		aims = append(aims, stagingAim(res, dest))
	}
	return aims
}

// check finds the worst ratio over the aim's scenarios.
func (a ratioAim) check(res *Results, dest string) Aim {
	out := Aim{Name: a.name, Dest: dest, Target: a.target}
	worst := math.Inf(-1)
	for _, sc := range a.scenarios {
		ratio, why := Ratio(res, sc, dest, "bbvault", a.peer, a.metric)
		if why != "" {
			out.Status = "n/a: " + sc + ": " + why
			return out
		}
		if ratio > worst {
			worst, out.Scenario = ratio, sc
		}
	}
	out.Ratio = round3(worst)
	out.Status = "missed"
	if worst <= a.target {
		out.Status = "met"
	}
	return out
}

// Ratio is metric(tool)/metric(peer) in one scenario at one destination,
// or a reason there is none.
func Ratio(res *Results, scenario, dest, tool, peer string, metric func(Row) float64) (float64, string) {
	t, ok := res.Find(scenario, tool, dest)
	p, okp := res.Find(scenario, peer, dest)
	switch {
	case !ok || !okp:
		return 0, "not measured"
	case !t.Ran():
		return 0, tool + " " + t.NA
	case !p.Ran():
		return 0, peer + " " + p.NA
	case metric(p) == 0:
		return 0, peer + " has no such figure"
	}
	return metric(t) / metric(p), ""
}

// stagingAim: bbvault stages nothing locally, in any scenario.
func stagingAim(res *Results, dest string) Aim {
	out := Aim{Name: "staging disk 0", Dest: dest, Status: "n/a: bbvault did not run"}
	var staged int64
	ran := false
	for _, r := range res.Rows {
		if r.Tool == "bbvault" && r.Dest == dest && r.Ran() {
			ran = true
			staged = max(staged, r.Staging)
		}
	}
	if ran {
		out.Status = "met"
		if staged > 0 {
			out.Status = fmt.Sprintf("missed: %d bytes staged", staged)
		}
	}
	return out
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }
