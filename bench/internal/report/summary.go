package report

import (
	"fmt"
	"io"
)

// WriteSummary writes one Markdown line per scenario and destination:
// each tool's wall time, bbvault's ratios, the lock windows and the peak
// memory of bbvault and both restics.
func WriteSummary(w io.Writer, res *Results, dests []string) {
	fmt.Fprintln(w, "| scenario | dest | bbvault s | restic s | restic18 s | DIY s | bbvault/restic | bbvault/restic18 | bbvault/DIY | "+
		"lock ms bbvault | lock ms DIY | RSS MiB bbvault | RSS MiB restic | RSS MiB restic18 |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, sc := range Scenarios {
		for _, dest := range dests {
			t, _ := res.Find(sc, "bbvault", dest)
			r, _ := res.Find(sc, "restic", dest)
			r18, _ := res.Find(sc, "restic18", dest)
			d, _ := res.Find(sc, "diy", dest)
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", sc, dest,
				orNA(t, secs(t.WallMs)), orNA(r, secs(r.WallMs)), orNA(r18, secs(r18.WallMs)), orNA(d, secs(d.WallMs)),
				ratioOf(res, sc, dest, "restic", wallMs), ratioOf(res, sc, dest, "restic18", wallMs),
				ratioOf(res, sc, dest, "diy", wallMs), orNA(t, lock(t.LockMs)), orNA(d, lock(d.LockMs)),
				orNA(t, mib(t.MaxRSS)), orNA(r, mib(r.MaxRSS)), orNA(r18, mib(r18.MaxRSS)))
		}
	}
}

// orNA is s for a row that ran, "n/a" otherwise (a missing row too).
func orNA(r Row, s string) string {
	if r.Tool == "" || !r.Ran() {
		return "n/a"
	}
	return s
}

func ratioOf(res *Results, sc, dest, peer string, metric func(Row) float64) string {
	v, why := Ratio(res, sc, dest, "bbvault", peer, metric)
	if why != "" {
		return "-"
	}
	return fmt.Sprintf("%.2fx", v)
}
