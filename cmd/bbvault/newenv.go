package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"bbvault/internal/flow"
	"bbvault/internal/relocate"
	"bbvault/internal/repo"
)

// newEnvFlags fit a restored home to a new environment.
type newEnvFlags struct {
	jdbcPasswordFile string
	stripCluster     bool
}

func (n *newEnvFlags) register(f *pflag.FlagSet) {
	f.StringVar(&n.jdbcPasswordFile, "jdbc-password-file", "", "file holding the new database's password for jdbc.password in bitbucket.properties (with --db-target)")
	f.BoolVar(&n.stripCluster, "strip-cluster-settings", false, "comment out hazelcast.network.* and hazelcast.group.* in bitbucket.properties, so the node does not try to join the old cluster")
}

func (n *newEnvFlags) validate(dbOnly bool, dbTarget string) error {
	switch {
	case n.jdbcPasswordFile != "" && dbTarget == "":
		return usagef("--jdbc-password-file needs --db-target: it is the password of that database")
	case dbOnly && (n.jdbcPasswordFile != "" || n.stripCluster):
		return usagef("--jdbc-password-file and --strip-cluster-settings change the restored home's bitbucket.properties: not with --db-only")
	}
	return nil
}

// steps are the changes a restored home gets: forks' alternates, and
// bitbucket.properties for the new database (with dbTarget).
func (n *newEnvFlags) steps(dbTarget string) ([]flow.Step, error) {
	props := &flow.PropertiesStep{StripCluster: n.stripCluster}
	if dbTarget != "" {
		pw, err := n.password()
		if err != nil {
			return nil, err
		}
		if props.JDBC, props.JDBCNote, err = flow.JDBCFor(dbTarget, pw); err != nil {
			return nil, usagef("--db-target: %v", err)
		}
	}
	return []flow.Step{flow.AlternatesStep{}, props}, nil
}

// password reads --jdbc-password-file; nil without it.
func (n *newEnvFlags) password() (*string, error) {
	if n.jdbcPasswordFile == "" {
		return nil, nil
	}
	b, err := os.ReadFile(n.jdbcPasswordFile)
	if err != nil {
		return nil, usagef("--jdbc-password-file: %v", err)
	}
	pw := strings.TrimRight(string(b), "\r\n")
	if pw == "" {
		return nil, usagef("--jdbc-password-file %s is empty", n.jdbcPasswordFile)
	}
	return &pw, nil
}

// restoreStepJSON is one step after a restore in restore's --json output.
type restoreStepJSON struct {
	Name       string `json:"name"`
	Skipped    bool   `json:"skipped"`
	DurationMs int64  `json:"duration_ms"`
	Error      string `json:"error,omitempty"`
	Detail     any    `json:"detail"` // the step's own report: what it found and changed
}

func newRestoreStepsJSON(res *flow.RestoreResult) []restoreStepJSON {
	out := []restoreStepJSON{}
	for _, s := range res.Steps {
		e := restoreStepJSON{Name: s.Name, Skipped: s.Skipped, DurationMs: s.Duration.Milliseconds(), Detail: s.Detail}
		if s.Err != nil {
			e.Error = s.Err.Error()
		}
		out = append(out, e)
	}
	return out
}

// restoreSourceJSON is what the snapshot recorded of where it came from.
type restoreSourceJSON struct {
	Host             string `json:"host"`
	Home             string `json:"home"`
	Database         string `json:"database"`          // "" without a dump
	DatabaseHost     string `json:"database_host"`     // "" when not recorded
	DatabasePort     int    `json:"database_port"`     // 0 when not recorded
	PostgresVersion  string `json:"postgres_version"`  // the server's
	BitbucketURL     string `json:"bitbucket_url"`     // the URL bbvault locked through; "" without a lock
	BitbucketVersion string `json:"bitbucket_version"` // "" when not recorded
}

func newRestoreSourceJSON(m *repo.Manifest) restoreSourceJSON {
	out := restoreSourceJSON{Host: m.Host, Home: m.Home, BitbucketURL: m.Bitbucket["url"], BitbucketVersion: m.Bitbucket["version"]}
	if s := flow.DatabaseOf(m); s != nil {
		a := flow.SourceDatabase(s.Meta)
		out.Database, out.DatabaseHost, out.DatabasePort = a.Database, a.Host, int(a.Port)
		out.PostgresVersion = s.Meta["server_version"]
	}
	return out
}

// printNewEnv lists what the steps changed for the new environment, the
// cluster settings found, and the snapshot's record of its origin.
func printNewEnv(g *globals, res *flow.RestoreResult) {
	if len(res.Steps) > 0 {
		g.printf("changed for the new environment:\n")
	}
	for _, s := range res.Steps {
		printStep(g, s)
	}
	printSource(g, newRestoreSourceJSON(res.Snapshot))
}

func printStep(g *globals, s flow.StepResult) {
	if s.Skipped {
		g.printf("  %s: not done: a part it needs did not restore\n", s.Name)
		return
	}
	if s.Err != nil {
		g.printf("  %s: failed: %v\n", s.Name, s.Err)
	}
	switch d := s.Detail.(type) {
	case *flow.AlternatesDetail:
		printAlternates(g, d)
	case *flow.PropertiesDetail:
		printProperties(g, d)
	}
}

func printAlternates(g *globals, d *flow.AlternatesDetail) {
	switch {
	case d.Note != "":
		g.printf("  forks: %s\n", d.Note)
	case len(d.Rewritten) == 0:
		g.printf("  forks: no alternates named %s (%d alternates files)\n", d.OldHome, d.Files)
	default:
		g.printf("  forks: alternates rewritten from %s to %s (entries: %d)\n", d.OldHome, d.NewHome, len(d.Rewritten))
	}
	for _, o := range d.Outside {
		g.printf("  forks: left as it is, outside the home: repository %s\n", o)
	}
}

func printProperties(g *globals, d *flow.PropertiesDetail) {
	if d.Note != "" {
		g.printf("  %s: %s\n", relocate.PropertiesPath, d.Note)
	}
	for _, c := range d.Changes {
		switch c.Action {
		case "set":
			g.printf("  %s: %s = %s (was %s)\n", relocate.PropertiesPath, c.Key, c.New, c.Old)
		case "added":
			g.printf("  %s: %s = %s (added)\n", relocate.PropertiesPath, c.Key, c.New)
		default:
			g.printf("  %s: %s commented out\n", relocate.PropertiesPath, c.Key)
		}
	}
	if len(d.Cluster) > 0 {
		g.printf("cluster settings in %s (a node started with them tries to join the old cluster; "+
			"--strip-cluster-settings comments them out):\n", relocate.PropertiesPath)
	}
	for _, c := range d.Cluster {
		g.printf("  %s=%s\n", c.Key, c.Value)
	}
	if d.BaseURL != "" {
		g.printf("base URL in %s: %s\n", relocate.PropertiesPath, d.BaseURL)
	}
}

// printSource says where the snapshot came from, as it recorded it.
func printSource(g *globals, s restoreSourceJSON) {
	g.printf("the snapshot recorded: home %s on host %s", s.Home, s.Host)
	if s.Database != "" {
		where := ""
		if s.DatabaseHost != "" {
			where = fmt.Sprintf(" on %s:%d", s.DatabaseHost, s.DatabasePort)
		}
		g.printf("; database %s%s (PostgreSQL %s)", s.Database, where, s.PostgresVersion)
	}
	if s.BitbucketURL != "" {
		version := s.BitbucketVersion
		if version == "" {
			version = "version not recorded"
		}
		g.printf("; Bitbucket %s (%s)", s.BitbucketURL, version)
	}
	g.printf("\n")
}
