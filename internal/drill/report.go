package drill

import (
	"fmt"
	"time"
)

// Class says how bad a problem is.
type Class string

// The classes, worst first.
const (
	Damaged      Class = "damaged"      // data lost or corrupt
	Inconsistent Class = "inconsistent" // intact, but the home and the database disagree
	Warning      Class = "warning"      // reported only
)

// Kinds of problems.
const (
	KindMissingDirectory = "missing_directory" // a repository row without its directory
	KindOrphanDirectory  = "orphan_directory"  // a repository directory no row names
	KindAlternates       = "alternates"        // a fork's alternates point nowhere or at the wrong repository
	KindFsck             = "fsck"              // git fsck failed
	KindDefaultBranch    = "default_branch"    // HEAD does not resolve in a repository with refs
	KindPullRequestRefs  = "pull_request_refs" // open pull requests without their refs
	KindRowCount         = "row_count"         // a table holds other rows than at backup time
	KindSchema           = "schema"            // a table the checks need is not there
)

// Problem is one thing that is wrong.
type Problem struct {
	Kind       string `json:"kind"`
	Class      Class  `json:"class"`
	Repository int    `json:"repository,omitempty"` // the repository's ID, when it concerns one
	Table      string `json:"table,omitempty"`      // the table, when it concerns one
	Message    string `json:"message"`
}

func (p Problem) String() string {
	switch {
	case p.Repository != 0:
		return fmt.Sprintf("%s: repository %d: %s", p.Class, p.Repository, p.Message)
	case p.Table != "":
		return fmt.Sprintf("%s: table %s: %s", p.Class, p.Table, p.Message)
	}
	return fmt.Sprintf("%s: %s", p.Class, p.Message)
}

// Report is what Check found.
type Report struct {
	Rows        int `json:"repository_rows"`        // rows of the repository table
	Directories int `json:"repository_directories"` // repository directories in the home
	Forks       int `json:"forks"`                  // directories with an alternates file
	// Checked is how many repositories had git fsck and their default
	// branch checked: all of them, or the sample.
	Checked                int           `json:"repositories_checked"`
	Sample                 float64       `json:"sample"` // the fraction asked for; 1 for all
	OpenPullRequests       int           `json:"open_pull_requests"`
	PullRequestRefsMissing int           `json:"pull_request_refs_missing"`
	GitDuration            time.Duration `json:"-"` // the git checks alone
	Duration               time.Duration `json:"-"`
	Problems               []Problem     `json:"problems"`
}

// Worst is the worst class among problems; "" when there are none.
func Worst(problems []Problem) Class {
	worst := Class("")
	for _, p := range problems {
		switch {
		case p.Class == Damaged:
			return Damaged
		case p.Class == Inconsistent:
			worst = Inconsistent
		case worst == "":
			worst = p.Class
		}
	}
	return worst
}

// CompareRows sets the rows per table recorded at backup time beside those
// counted after the restore: a table with other rows, or one that was not
// restored, is damage.
func CompareRows(recorded, restored map[string]int64) []Problem {
	var out []Problem
	for _, table := range sortedKeys(recorded) {
		want := recorded[table]
		got, ok := restored[table]
		switch {
		case !ok:
			out = append(out, Problem{Kind: KindRowCount, Class: Damaged, Table: table,
				Message: fmt.Sprintf("held %d rows at backup time and is missing after the restore", want)})
		case got != want:
			out = append(out, Problem{Kind: KindRowCount, Class: Damaged, Table: table,
				Message: fmt.Sprintf("held %d rows at backup time, %d after the restore", want, got)})
		}
	}
	for _, table := range sortedKeys(restored) {
		if _, ok := recorded[table]; !ok {
			out = append(out, Problem{Kind: KindRowCount, Class: Damaged, Table: table,
				Message: fmt.Sprintf("was not in the database at backup time, and holds %d rows after the restore", restored[table])})
		}
	}
	return out
}
