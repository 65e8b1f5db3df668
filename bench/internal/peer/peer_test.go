package peer

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"bbvault/test/servers"
	"bbvault/test/standin"
	"bbvault/test/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// setup builds a tiny home and database, and a running stand-in.
func setup(t *testing.T) (*Env, *standin.Server) {
	t.Helper()
	for _, tool := range []string{"rsync", "curl", "tar", "restic"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Need(t, "%s not installed: run scripts/install-test-deps.sh", tool)
		}
	}
	pg := testenv.Postgres(t)
	db := pg.NewDB(t)
	conn, err := pgx.Connect(context.Background(), pg.DSN(db))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), "CREATE TABLE sta_comment (id int PRIMARY KEY, body text); "+
		"INSERT INTO sta_comment SELECT i, md5(i::text) FROM generate_series(1, 500) i"); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	for rel, content := range map[string]string{"shared/data/repositories/1/HEAD": "ref: refs/heads/master\n",
		"shared/bitbucket.properties": "a=b\n", "caches/big.bin": "excluded"} {
		if err := os.MkdirAll(filepath.Join(home, filepath.Dir(rel)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(home, rel), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	password := "pw-" + servers.RandomHex(4)
	srv := standin.New(standin.Options{User: "bench", Password: password, SCMDrainTime: 50 * time.Millisecond})
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	bench, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	env := &Env{Home: home, DB: db, BenchDir: bench, Work: t.TempDir(), Logs: t.TempDir(),
		PG:        &pg.Postgres,
		Bitbucket: &Bitbucket{URL: srv.URL(), User: "bench", Password: password}}
	return env, srv
}

func TestDIYBacksUpUnderTheLockAndRestores(t *testing.T) {
	env, srv := setup(t)
	diy, err := NewDIY(env, Dest{Kind: "local"})
	if err != nil {
		t.Fatal(err)
	}
	o := diy.Snapshot(context.Background(), true)
	if o.Failed() {
		t.Fatalf("diy-backup.sh: %v %s", o.Err, o.NA)
	}
	windows := srv.LockWindows()
	if len(windows) != 1 || o.Lock <= 0 || srv.Locked() {
		t.Fatalf("lock windows %v, reported %s, locked now %v: want one released lock", windows, o.Lock, srv.Locked())
	}
	if o.Staging == 0 {
		t.Error("the DIY flow staged nothing; it keeps a copy of the home and the dump")
	}
	target := filepath.Join(t.TempDir(), "restored")
	r := diy.Restore(context.Background(), target, "restored_diy")
	if r.Failed() {
		t.Fatalf("diy-restore.sh: %v %s", r.Err, r.NA)
	}
	if _, err := os.Stat(filepath.Join(target, "shared/bitbucket.properties")); err != nil {
		t.Errorf("restored home lacks shared/bitbucket.properties: %v", err)
	}
	if _, err := os.Stat(filepath.Join(target, "caches")); err == nil {
		t.Error("restored home holds caches/, which the backup excludes")
	}
}

func TestDIYUnlocksWhenTheDumpFails(t *testing.T) {
	env, srv := setup(t)
	env.DB = "no_such_database"
	diy, err := NewDIY(env, Dest{Kind: "local"})
	if err != nil {
		t.Fatal(err)
	}
	o := diy.Snapshot(context.Background(), true)
	if o.Err == nil || !strings.Contains(o.Err.Error(), "no_such_database") {
		t.Fatalf("snapshot of a missing database: %v; want pg_dump's error", o.Err)
	}
	if srv.Locked() {
		t.Fatal("diy-backup.sh left Bitbucket locked after pg_dump failed")
	}
}

// TestResticRoundTrip runs Debian's restic and the 0.18 release the
// install script builds.
func TestResticRoundTrip(t *testing.T) {
	for name, bin := range map[string]string{"restic": "restic", "restic18": servers.Restic18} {
		t.Run(name, func(t *testing.T) {
			path, err := servers.FindGoBinary(bin)
			if err != nil {
				testenv.Need(t, "%v", err)
			}
			resticRoundTrip(t, name, path)
		})
	}
}

func resticRoundTrip(t *testing.T, name, bin string) {
	env, _ := setup(t)
	r, err := NewRestic(env, Dest{Kind: "local"}, name, bin)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, step := range []func() Outcome{func() Outcome { return r.Init(ctx) }, func() Outcome { return r.Snapshot(ctx, true) }} {
		if o := step(); o.Failed() {
			t.Fatalf("%s: %v %s", name, o.Err, o.NA)
		}
	}
	o := r.Restore(ctx, t.TempDir(), "restored_"+name)
	if o.Failed() {
		t.Fatalf("%s restore: %v", name, o.Err)
	}
	if _, err := os.Stat(filepath.Join(o.RestoredHome, "shared/bitbucket.properties")); err != nil {
		t.Errorf("%s restored the home elsewhere than %s: %v", name, o.RestoredHome, err)
	}
	if _, err := os.Stat(filepath.Join(o.RestoredHome, "caches")); err == nil {
		t.Errorf("%s backed up caches/ despite the excludes", name)
	}
}

func TestKeyValues(t *testing.T) {
	got := keyValues([]byte("noise\nDIY_LOCK_NS=12\nDIY_ARCHIVE=s3://b/k=v\n"))
	if got["DIY_LOCK_NS"] != "12" || got["DIY_ARCHIVE"] != "s3://b/k=v" {
		t.Fatalf("keyValues = %v", got)
	}
}
