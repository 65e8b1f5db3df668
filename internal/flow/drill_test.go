package flow

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"bbvault/internal/backend/local"
	"bbvault/internal/crypto"
	"bbvault/internal/dbstream"
	"bbvault/internal/drill"
	"bbvault/internal/relocate"
	"bbvault/internal/repo"
	"bbvault/test/fixture"
	"bbvault/test/testenv"
)

// site is a Bitbucket-like home and a database that agree, and a
// repository to snapshot them into.
type site struct {
	h   *fixture.Home
	pg  *testenv.PGServer
	db  string // the live database's name
	r   *repo.Repository
	dir string
}

func newSite(t *testing.T) *site {
	t.Helper()
	s := &site{pg: testenv.Postgres(t), dir: t.TempDir()}
	s.h = fixture.GitHome(t, filepath.Join(s.dir, "live-home"), fixture.Options{Repos: 3, Commits: 8,
		LooseCommits: 2, PullRequests: 40, Attachments: 3})
	s.db = s.pg.NewDB(t)
	fixture.BitbucketDatabase(t, s.pg.DSN(s.db), s.h)
	ctx := t.Context()
	be, err := local.Create(filepath.Join(s.dir, "repo"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Init(ctx, be, []byte("pw"), repo.InitOptions{PackSize: repo.MinPackSize,
		KDF: crypto.KDFParams{N: 1024, R: 8, P: 1}}); err != nil {
		t.Fatal(err)
	}
	if s.r, err = repo.Open(ctx, be, []byte("pw"), repo.OpenOptions{CacheDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.r.Close() })
	return s
}

func (s *site) snapshot(t *testing.T) *repo.Manifest {
	t.Helper()
	src, err := dbstream.NewSource(dbstream.Options{DSN: s.pg.DSN(s.db)})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Snapshot(t.Context(), s.r, SnapshotOptions{Home: s.h.Root,
		Database: &PostgresDatabase{Source: src, Logger: slog.New(slog.DiscardHandler)}})
	if err != nil {
		t.Fatal(err)
	}
	return res.Manifest
}

// sql runs sql on dsn; it also works in clean-ups, after t.Context ended.
func (s *site) sql(t *testing.T, dsn, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatal(err)
	}
}

func (s *site) dbExists(t *testing.T, name string) bool {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), s.pg.DSN("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var ok bool
	if err := conn.QueryRow(t.Context(), "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	return ok
}

// drill runs a drill of m with scratch areas of the test.
func (s *site) drill(t *testing.T, m *repo.Manifest, keep bool) (*DrillResult, error) {
	t.Helper()
	o := DrillOptions{Scratch: filepath.Join(s.dir, "scratch"), ScratchDB: s.pg.DSN("postgres"), Keep: keep}
	t.Cleanup(func() {
		s.sql(t, s.pg.DSN("postgres"), "DROP DATABASE IF EXISTS "+pgx.Identifier{"bbvault_drill_" + m.ShortID()}.Sanitize()+" WITH (FORCE)")
	})
	return Drill(t.Context(), s.r, m, o)
}

func TestDrillPassesOnAGoodSnapshotAndCleansUp(t *testing.T) {
	s := newSite(t)
	m := s.snapshot(t)
	if rows, ok := RecordedRows(DatabaseOf(m).Meta); !ok || rows["public.sta_activity"] != 5000 || rows["public.repository"] != int64(len(s.h.Repos)) {
		t.Fatalf("row counts recorded at dump time: %v (%v)", rows, ok)
	}
	res, err := s.drill(t, m, false)
	if err != nil {
		t.Fatalf("drill of a good snapshot: %v (problems %v)", err, res.Problems())
	}
	c := res.Checks
	if len(c.Problems) != 0 || c.Checked != len(s.h.Repos) || c.Forks != 2 || c.OpenPullRequests != 40 {
		t.Errorf("checks: %+v", c)
	}
	if res.RestoreTime <= 0 || res.RestoreTime > res.Duration || res.Restore.Home.Duration <= 0 || res.Restore.Database.Duration <= 0 {
		t.Errorf("timings: restore %v of %v (home %v, database %v)", res.RestoreTime, res.Duration,
			res.Restore.Home.Duration, res.Restore.Database.Duration)
	}
	if _, err := os.Stat(res.Home); !errors.Is(err, os.ErrNotExist) || s.dbExists(t, res.Database) {
		t.Errorf("scratch areas left after the drill: home %v, database %s exists %v", err, res.Database, s.dbExists(t, res.Database))
	}
}

// TestDrillKeepsAndRewritesAlternates: with Keep the scratch areas stay, and
// the forks of the scratch home borrow from the scratch home, not from the
// live one that is still there.
func TestDrillKeepsAndRewritesAlternates(t *testing.T) {
	s := newSite(t)
	res, err := s.drill(t, s.snapshot(t), true)
	if err != nil {
		t.Fatal(err)
	}
	alt, err := os.ReadFile(filepath.Join(res.Home, fixture.RepoRel(s.h.Fork), "objects", "info", "alternates"))
	if want := filepath.Join(res.Home, fixture.RepoRel(1), "objects") + "\n"; err != nil || string(alt) != want {
		t.Errorf("the kept scratch fork's alternates: %q (%v), want %q", alt, err, want)
	}
	if !s.dbExists(t, res.Database) || !res.Kept {
		t.Errorf("the scratch database %s is gone after a drill that keeps it", res.Database)
	}
	if !strings.HasPrefix(res.Home, filepath.Join(s.dir, "scratch")+"/bbvault-drill-") {
		t.Errorf("scratch home %s is not a new directory under the scratch directory", res.Home)
	}
}

// TestDrillFindsEachPlantedFault: each fault, planted in the live home or
// database before the snapshot (or in what the snapshot recorded), is
// found, named, and gives the drill its class.
func TestDrillFindsEachPlantedFault(t *testing.T) {
	cases := []struct {
		name  string
		plant func(t *testing.T, s *site) // before the snapshot
		after func(t *testing.T, s *site, m *repo.Manifest) *repo.Manifest
		want  drill.Problem
		class error
	}{
		{name: "repository directory removed", plant: func(t *testing.T, s *site) { os.RemoveAll(s.h.RepoDir(2)) },
			want: drill.Problem{Kind: drill.KindMissingDirectory, Repository: 2}, class: ErrInconsistent},
		{name: "row without a directory", plant: func(t *testing.T, s *site) {
			s.sql(t, s.pg.DSN(s.db), "INSERT INTO repository VALUES (42, 'r', 'R', 1, 'git', 0, true, false, NULL, 'h42')")
		}, want: drill.Problem{Kind: drill.KindMissingDirectory, Repository: 42}, class: ErrInconsistent},
		{name: "fork alternates pointing nowhere", plant: func(t *testing.T, s *site) {
			os.WriteFile(filepath.Join(s.h.RepoDir(s.h.Fork), "objects", "info", "alternates"), []byte("/srv/gone/objects\n"), 0o644)
		}, want: drill.Problem{Kind: drill.KindAlternates, Repository: 0}, class: ErrInconsistent},
		{name: "corrupt object", plant: func(t *testing.T, s *site) { corruptTip(t, s.h.RepoDir(3)) },
			want: drill.Problem{Kind: drill.KindFsck, Repository: 3}, class: ErrDamaged},
		{name: "table with rows missing", after: func(t *testing.T, s *site, m *repo.Manifest) *repo.Manifest {
			return s.recordMoreRows(t, m, "public.sta_activity", 25)
		}, want: drill.Problem{Kind: drill.KindRowCount, Table: "public.sta_activity"}, class: ErrDamaged},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newSite(t)
			if c.plant != nil {
				c.plant(t, s)
			}
			m := s.snapshot(t)
			if c.after != nil {
				m = c.after(t, s, m)
			}
			if c.want.Kind == drill.KindAlternates {
				c.want.Repository = s.h.Fork
			}
			res, err := s.drill(t, m, false)
			if !errors.Is(err, c.class) || res == nil {
				t.Fatalf("drill: %v, want %v", err, c.class)
			}
			ps := res.Problems()
			if len(ps) != 1 || ps[0].Kind != c.want.Kind || ps[0].Repository != c.want.Repository || ps[0].Table != c.want.Table {
				t.Fatalf("problems %v, want only a %s of repository %d / table %q", ps, c.want.Kind, c.want.Repository, c.want.Table)
			}
			t.Logf("%s: %s", c.name, ps[0])
		})
	}
}

// recordMoreRows saves a copy of m claiming table held extra rows more at
// backup time: after the restore, that many rows are missing.
func (s *site) recordMoreRows(t *testing.T, m *repo.Manifest, table string, extra int64) *repo.Manifest {
	t.Helper()
	c := *m
	c.Streams = append([]repo.Stream(nil), m.Streams...)
	db := &c.Streams[0]
	db.Meta = maps.Clone(db.Meta)
	rows, _ := RecordedRows(db.Meta)
	rows[table] += extra
	putRowCounts(db.Meta, rows, 0)
	if _, err := s.r.SaveSnapshot(t.Context(), &c); err != nil {
		t.Fatal(err)
	}
	return &c
}

// corruptTip garbles the loose object of master's tip commit.
func corruptTip(t *testing.T, repoDir string) {
	t.Helper()
	sha := fixture.Git(t, repoDir, "rev-parse", "refs/heads/master")
	path := filepath.Join(repoDir, "objects", sha[:2], sha[2:])
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := len(b) / 3; i < len(b)/3+8; i++ {
		b[i] ^= 0x5a
	}
	os.Chmod(path, 0o644)
	if err := os.WriteFile(path, b, 0o444); err != nil {
		t.Fatal(err)
	}
}

// TestDrillRefusesProductionBeforeCreatingAnything: a scratch directory in
// the live home, the live database as scratch, and a database the drill
// did not make are refused, with nothing created.
func TestDrillRefusesProductionBeforeCreatingAnything(t *testing.T) {
	s := newSite(t)
	m := s.snapshot(t)
	ctx := t.Context()
	cases := []struct {
		name  string
		o     DrillOptions
		words string
	}{
		{"scratch in the live home", DrillOptions{Scratch: filepath.Join(s.h.Root, "shared", "drill"), ScratchDB: s.pg.DSN("postgres")}, "inside the live home"},
		{"scratch is the live home", DrillOptions{Scratch: s.h.Root, ScratchDB: s.pg.DSN("postgres")}, "inside the live home"},
		{"the live database", DrillOptions{Scratch: t.TempDir(), ScratchDB: strings.Replace(s.pg.DSN(s.db), "127.0.0.1", "localhost", 1)}, "live database"},
		{"a database the drill did not make", DrillOptions{Scratch: t.TempDir(), ScratchDB: s.pg.DSN(s.pg.NewDB(t))}, "not a scratch database"},
	}
	for _, c := range cases {
		res, err := Drill(ctx, s.r, m, c.o)
		if res != nil || err == nil || !strings.Contains(err.Error(), c.words) {
			t.Errorf("%s: result %v, error %v; want a refusal saying %q", c.name, res, err, c.words)
		}
	}
	if _, err := os.Stat(filepath.Join(s.h.Root, "shared", "drill")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the refused drill created a directory in the live home (%v)", err)
	}
	if s.dbExists(t, "bbvault_drill_"+m.ShortID()) {
		t.Error("a refused drill created its scratch database")
	}
}

// TestRestoreOntoANewEnvironment: restored to another path and a new
// database, the home's bitbucket.properties names the new database (old
// lines kept, commented out), and every fork passes git fsck in place with
// the original home gone.
func TestRestoreOntoANewEnvironment(t *testing.T) {
	s := newSite(t)
	m := s.snapshot(t)
	if err := os.Rename(s.h.Root, s.h.Root+".gone"); err != nil { // the old host is gone
		t.Fatal(err)
	}
	target := s.pg.NewDB(t)
	s.sql(t, s.pg.DSN("postgres"), "DROP DATABASE "+pgx.Identifier{target}.Sanitize())
	dsn := s.pg.DSN(target)
	pw := "n3w-db-pass"
	jdbc, _, err := JDBCFor(dsn, &pw)
	if err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(s.dir, "new host", "bitbucket")
	res, err := Restore(t.Context(), s.r, m, RestoreOptions{Home: &HomeTarget{Dir: home},
		Database: &PostgresTarget{Options: dbstream.RestoreOptions{TargetDSN: dsn}},
		Steps:    []Step{AlternatesStep{}, &PropertiesStep{JDBC: jdbc}}})
	if err != nil {
		t.Fatal(err)
	}
	props, err := os.ReadFile(filepath.Join(home, "shared", "bitbucket.properties"))
	wantURL := "jdbc.url=jdbc:postgresql://" + s.pg.Host + ":" + strconv.Itoa(s.pg.Port) + "/" + target + "?sslmode=disable\n"
	if err != nil || !strings.Contains(string(props), wantURL) || !strings.Contains(string(props), "jdbc.user="+s.pg.User+"\n") ||
		!strings.Contains(string(props), "jdbc.password="+pw+"\n") || !strings.Contains(string(props), "#jdbc.url=jdbc:postgresql://db/bitbucket\n") {
		t.Errorf("bitbucket.properties after the restore (%v):\n%s\nwant %q", err, props, wantURL)
	}
	for _, id := range s.h.Repos {
		if err := fixture.Fsck(t.Context(), filepath.Join(home, fixture.RepoRel(id))); err != nil {
			t.Errorf("repository %d in the new place: %v", id, err)
		}
	}
	d, _ := res.Steps[0].Detail.(*AlternatesDetail)
	if d == nil || len(d.Rewritten) != 1 || d.OldHome != s.h.Root {
		t.Errorf("alternates step: %+v", res.Steps[0].Detail)
	}
	p, _ := res.Steps[1].Detail.(*PropertiesDetail)
	if p == nil || len(p.Changes) != 3 || p.Changes[0].Key != relocate.KeyJDBCURL || p.JDBCURL != "jdbc:postgresql://db/bitbucket" {
		t.Errorf("properties step: %+v", res.Steps[1].Detail)
	}
}
