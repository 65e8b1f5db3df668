package report

import (
	"fmt"
	"io"
	"strings"
)

// columns of the results table, after the tool's name.
var columns = []string{"wall s", "CPU s", "peak RSS MiB", "stored MiB", "S3 objects", "S3 requests",
	"staging MiB", "cache MiB", "lock ms", "note"}

// cells are the figures of a row, formatted.
func cells(r Row) []string {
	if !r.Ran() {
		out := make([]string, len(columns))
		for i := range out[:len(out)-1] {
			out[i] = "n/a"
		}
		out[len(out)-1] = r.NA
		return out
	}
	return []string{secs(r.WallMs), secs(r.CPUMs), mib(r.MaxRSS), mib(r.Stored), count(r.S3Objects, r.Dest),
		count(r.S3Requests, r.Dest), mib(r.Staging), mib(r.Cache), lock(r.LockMs), r.Verified}
}

// ratioCells are bbvault's figures divided by the peer's.
func ratioCells(t, p Row) []string {
	return []string{ratio(t.WallMs, p.WallMs), ratio(t.CPUMs, p.CPUMs), ratio(float64(t.MaxRSS), float64(p.MaxRSS)),
		ratio(float64(t.Stored), float64(p.Stored)), ratio(float64(t.S3Objects), float64(p.S3Objects)),
		ratio(float64(t.S3Requests), float64(p.S3Requests)), ratio(float64(t.Staging), float64(p.Staging)),
		ratio(float64(t.Cache), float64(p.Cache)), ratio(t.LockMs, p.LockMs), ""}
}

func secs(ms float64) string { return fmt.Sprintf("%.2f", ms/1000) }
func mib(b int64) string     { return fmt.Sprintf("%.1f", float64(b)/(1<<20)) }
func lock(ms float64) string {
	if ms == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f", ms)
}

func count(n int64, dest string) string {
	if dest != "s3" {
		return "-"
	}
	return fmt.Sprint(n)
}

func ratio(a, b float64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", a/b)
}

// grid is one scenario at one destination: a header and rows of cells.
type grid struct {
	title string
	rows  [][]string
}

// grids lays out the results, scenario by scenario, destination by
// destination, with bbvault's ratio to each peer under the rows.
func grids(res *Results, tools, dests []string) []grid {
	var out []grid
	for _, sc := range Scenarios {
		for _, dest := range dests {
			g := grid{title: fmt.Sprintf("%s, %s", sc, dest)}
			for _, tool := range tools {
				if r, ok := res.Find(sc, tool, dest); ok {
					g.rows = append(g.rows, append([]string{tool}, cells(r)...))
				}
			}
			g.rows = append(g.rows, ratioRows(res, sc, dest, tools)...)
			if len(g.rows) > 0 {
				out = append(out, g)
			}
		}
	}
	return out
}

func ratioRows(res *Results, sc, dest string, tools []string) [][]string {
	t, ok := res.Find(sc, "bbvault", dest)
	if !ok {
		return nil
	}
	var rows [][]string
	for _, peer := range tools {
		if p, ok := res.Find(sc, peer, dest); ok && peer != "bbvault" && t.Ran() && p.Ran() {
			rows = append(rows, append([]string{"bbvault/" + peer}, ratioCells(t, p)...))
		}
	}
	return rows
}

// WriteText prints the results as aligned text tables, then the aims.
func WriteText(w io.Writer, res *Results, tools, dests []string) {
	header := append([]string{"tool"}, columns...)
	for _, g := range grids(res, tools, dests) {
		fmt.Fprintf(w, "\n== %s\n", g.title)
		widths := colWidths(append([][]string{header}, g.rows...))
		printAligned(w, header, widths)
		for _, row := range g.rows {
			printAligned(w, row, widths)
		}
	}
	fmt.Fprintln(w, "\n== aims (reported, not asserted)")
	for _, a := range res.Aims {
		fmt.Fprintf(w, "%-6s %-45s %s\n", a.Dest, a.Name, aimText(a))
	}
}

func aimText(a Aim) string {
	if a.Ratio == 0 {
		return a.Status
	}
	return fmt.Sprintf("%s (%.3fx in %s)", a.Status, a.Ratio, a.Scenario)
}

func colWidths(rows [][]string) []int {
	widths := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, c := range row[:len(row)-1] { // the note is not padded
			widths[i] = max(widths[i], len(c))
		}
	}
	return widths
}

func printAligned(w io.Writer, row []string, widths []int) {
	var b strings.Builder
	for i, c := range row {
		if i == len(row)-1 {
			b.WriteString(c)
			break
		}
		if i == 0 {
			fmt.Fprintf(&b, "%-*s  ", widths[i], c)
		} else {
			fmt.Fprintf(&b, "%*s  ", widths[i], c)
		}
	}
	fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
}

// WriteMarkdown writes the results as Markdown tables, then the aims.
func WriteMarkdown(w io.Writer, res *Results, tools, dests []string) {
	header := append([]string{"tool"}, columns...)
	for _, g := range grids(res, tools, dests) {
		fmt.Fprintf(w, "\n#### %s\n\n", g.title)
		fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(header, " | "), strings.Repeat("---|", len(header)))
		for _, row := range g.rows {
			fmt.Fprintf(w, "| %s |\n", strings.Join(escapeCells(row), " | "))
		}
	}
	fmt.Fprintln(w, "\n#### Aims (reported, not asserted)\n\n| destination | aim | result |\n|---|---|---|")
	for _, a := range res.Aims {
		fmt.Fprintf(w, "| %s | %s | %s |\n", a.Dest, a.Name, strings.ReplaceAll(aimText(a), "|", "/"))
	}
}

func escapeCells(row []string) []string {
	out := make([]string, len(row))
	for i, c := range row {
		out[i] = strings.ReplaceAll(c, "|", "/")
	}
	return out
}
