package flow

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"bbvault/internal/dbstream"
	"bbvault/internal/relocate"
)

// AlternatesStep points forks at their origins where the home now is: the
// entries of objects/info/alternates that name the snapshot's home path
// are rewritten to the restored home's, so git finds the objects without
// Bitbucket starting first.
type AlternatesStep struct{}

// AlternatesDetail is what AlternatesStep did.
type AlternatesDetail struct {
	OldHome string `json:"old_home"` // the home path the snapshot recorded
	NewHome string `json:"new_home"`
	relocate.AlternatesResult
	Note string `json:"note,omitempty"`
}

// Name implements Step.
func (AlternatesStep) Name() string { return "alternates" }

// Needs implements Step.
func (AlternatesStep) Needs() Parts { return PartHome }

// Run implements Step.
func (AlternatesStep) Run(ctx context.Context, res *RestoreResult) (any, error) {
	home, err := filepath.Abs(res.Home.Dir)
	if err != nil {
		return nil, err
	}
	d := &AlternatesDetail{OldHome: res.Snapshot.Home, NewHome: home}
	if filepath.Clean(d.OldHome) == home {
		d.AlternatesResult = relocate.AlternatesResult{Rewritten: []relocate.AlternatesChange{}, Outside: []string{}}
		d.Note = "restored at the home's original path: alternates left as they are"
		return d, nil
	}
	d.AlternatesResult, err = relocate.Alternates(ctx, home, d.OldHome)
	return d, err
}

// PropertiesStep fits shared/bitbucket.properties to the new environment:
// the new database (when the restore wrote one) and, on request, without
// the old cluster's settings. Whatever it does, it lists the cluster
// settings it found.
type PropertiesStep struct {
	JDBC         *relocate.JDBC // nil: no new database; the database settings stay
	JDBCNote     string         // said with the changes (see JDBCFor)
	StripCluster bool
	Now          func() time.Time
}

// PropertiesDetail is what PropertiesStep found and changed.
type PropertiesDetail struct {
	Path string `json:"path"`
	relocate.PropertiesResult
	Note string `json:"note,omitempty"`
}

// Name implements Step.
func (p *PropertiesStep) Name() string { return "bitbucket.properties" }

// Needs implements Step: the home, and the database when it names the new one.
func (p *PropertiesStep) Needs() Parts {
	if p.JDBC != nil {
		return PartHome | PartDatabase
	}
	return PartHome
}

// Run implements Step.
func (p *PropertiesStep) Run(_ context.Context, res *RestoreResult) (any, error) {
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	e := relocate.Edit{JDBC: p.JDBC, StripCluster: p.StripCluster,
		Reason: fmt.Sprintf("bbvault restore of snapshot %s on %s", res.Snapshot.ShortID(), now().UTC().Format(time.DateOnly))}
	d := &PropertiesDetail{Path: filepath.Join(res.Home.Dir, filepath.FromSlash(relocate.PropertiesPath))}
	var err error
	d.PropertiesResult, err = relocate.EditFile(res.Home.Dir, e)
	switch {
	case errors.Is(err, relocate.ErrNoProperties):
		d.Note = "the restored home has no " + relocate.PropertiesPath + ": nothing to change"
		return d, nil
	case err != nil:
		return d, err
	case p.JDBC == nil:
		d.Note = "database settings left as they were (no --db-target)"
	default:
		d.Note = p.JDBCNote
	}
	return d, nil
}

// JDBCFor is what bitbucket.properties should say to reach the database
// dsn names: its JDBC URL and user, and password when given (never taken
// from the DSN). The JDBC driver connects over TCP only: a DSN through a
// Unix socket becomes localhost on the same port, which note says.
func JDBCFor(dsn string, password *string) (jdbc *relocate.JDBC, note string, err error) {
	a, err := dbstream.ParseAddress(dsn)
	if err != nil {
		return nil, "", err
	}
	if a.IsSocket() {
		note = fmt.Sprintf("the database was restored through the Unix socket %s; jdbc.url names localhost:%d, "+
			"as Bitbucket's JDBC driver connects over TCP", a.Host, a.Port)
		a.Host = "localhost"
	}
	url, err := a.JDBCURL()
	if err != nil {
		return nil, "", err
	}
	return &relocate.JDBC{URL: url, User: a.User, Password: password}, note, nil
}
