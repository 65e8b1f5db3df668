package report

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"
)

// Load reads results written by WriteJSON.
func Load(path string) (*Results, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	var res Results
	if err := json.Unmarshal(data, &res); err != nil {
		return nil, fmt.Errorf("report: %s: %w", path, err)
	}
	return &res, nil
}

// Lists returns the tools and destinations the run used, from its config.
func (res *Results) Lists() (tools, dests []string) {
	return stringList(res.Config["tools"]), stringList(res.Config["dests"])
}

func stringList(v any) []string {
	var out []string
	switch list := v.(type) {
	case []string:
		return list
	case []any:
		for _, s := range list {
			out = append(out, fmt.Sprint(s))
		}
	}
	return out
}

// WriteDocument writes the Markdown report of a run: its command and
// conditions, the data, a summary, every table and the aims.
func WriteDocument(w io.Writer, res *Results) {
	tools, dests := res.Lists()
	fmt.Fprintf(w, "### Benchmark: profile %s, %s\n\n", res.Profile, res.Started.UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(w, "Command: `%s` (took %s)\n\n", res.Command, res.Took.Round(time.Second))
	fmt.Fprintf(w, "Machine: %v CPUs, %v memory, load average %v at the start and %v at the end (other jobs share the machine).\n\n",
		res.Machine["cpus"], res.Machine["mem_total"], res.Machine["load_avg"], res.Machine["load_avg_end"])
	if sum, ok := res.Machine["bbvault_sha256"]; ok {
		fmt.Fprintf(w, "bbvault: binary sha256 %.12v, tree %.12v with %v changed files.\n\n",
			sum, res.Machine["git_head"], res.Machine["git_changed_files"])
	} else {
		fmt.Fprint(w, "bbvault: binary not recorded (this run predates the harness pinning it; see the README).\n\n")
	}
	if where, ok := res.Machine["restore_target"]; ok {
		fmt.Fprintf(w, "Restores: each into %v.\n\n", where)
	}
	fmt.Fprintf(w, "Data: %s\n\n#### Summary (wall time in seconds)\n\n", dataLine(res))
	WriteSummary(w, res, dests)
	WriteMarkdown(w, res, tools, dests)
}

// dataLine describes the generated home and database.
func dataLine(res *Results) string {
	home, _ := res.Data["home"].(map[string]any)
	db, _ := res.Data["database"].(map[string]any)
	return fmt.Sprintf("a home of %s in %.0f files (%s in %.0f files backed up; %.0f loose objects, %.0f loose refs), "+
		"a database of %s (pg_database_size); stand-in drain %v ms.",
		human(home["bytes"]), home["files"], human(home["backup_bytes"]), home["backup_files"],
		home["loose_objects"], home["loose_refs"], human(db["bytes"]), res.Config["drain_ms"])
}

func human(v any) string {
	f, _ := v.(float64)
	return fmt.Sprintf("%.2f GiB", f/(1<<30))
}
