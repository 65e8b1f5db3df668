package dbstream

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"bbvault/test/testenv"

	"github.com/jackc/pgx/v5/pgconn"
)

// testLogger sends log records to the test's log.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

func TestDumpRestoreRoundTrip(t *testing.T) {
	pg := testenv.Postgres(t)
	src := bitbucketDB(t, pg)
	want := fingerprint(t, pg.DSN(src))
	for _, format := range []Format{FormatCustom, FormatPlain} {
		t.Run(string(format), func(t *testing.T) {
			ctx := testCtx(t)
			d, err := newSource(t, pg, src).Start(ctx, DumpOptions{Format: format})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			exportPID := d.conn.PgConn().PID()
			dst := targetDB(t, pg)
			sum, err := Restore(ctx, RestoreOptions{TargetDSN: pg.DSN(dst), BinDir: pg.BinDir,
				Encoding: d.Info().Encoding, Logger: testLogger(t)}, d)
			if err != nil {
				t.Fatal(err)
			}
			// The end of the stream releases the snapshot, before any Close.
			waitSessionsGone(t, pg, "no application", exportPID)
			if err := d.Close(); err != nil {
				t.Fatalf("Close after a complete dump: %v", err)
			}
			assertSameDatabase(t, pg, src, dst, want)
			assertSummary(t, sum, want, d.Size(), format)
			assertCountedAtReady(t, d, want)
		})
	}
}

// assertSameDatabase compares schema and every row of src and dst.
func assertSameDatabase(t *testing.T, pg *testenv.PGServer, src, dst string, want map[string]string) {
	t.Helper()
	if got, wantSchema := schemaDump(t, pg, dst), schemaDump(t, pg, src); got != wantSchema {
		t.Errorf("schema of the restored database differs:\n--- source\n%s\n--- restored\n%s", wantSchema, got)
	}
	got := fingerprint(t, pg.DSN(dst))
	if len(got) != len(want) {
		t.Errorf("restored database has %d tables and sequences, source has %d", len(got), len(want))
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s: restored %q, source %q (row count and md5 of rows)", name, got[name], w)
		}
	}
}

// assertSummary checks Restore's summary against the source fingerprint.
func assertSummary(t *testing.T, sum Summary, want map[string]string, dumped int64, format Format) {
	t.Helper()
	var tables int
	var rows int64
	for name, fp := range want {
		if isSequence(fp) {
			continue
		}
		n, _ := strconv.ParseInt(strings.Fields(fp)[0], 10, 64)
		tables++
		rows += n
		if sum.TableRows[name] != n {
			t.Errorf("summary counts %d rows in %s, the source has %d", sum.TableRows[name], name, n)
		}
	}
	if sum.Tables != tables || sum.Rows != rows {
		t.Errorf("summary: %d tables, %d rows; source: %d tables, %d rows", sum.Tables, sum.Rows, tables, rows)
	}
	if sum.Bytes != dumped || sum.Format != format || !sum.Created {
		t.Errorf("summary: %d bytes, format %s, created %v; want %d bytes, %s, created",
			sum.Bytes, sum.Format, sum.Created, dumped, format)
	}
}

func TestWritesAfterReadyAreNotInTheDump(t *testing.T) {
	pg := testenv.Postgres(t)
	src := bitbucketDB(t, pg)
	want := fingerprint(t, pg.DSN(src))
	ctx := testCtx(t)
	d, err := newSource(t, pg, src).Start(ctx, DumpOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	// Nothing has been read yet: pg_dump is blocked on a full pipe with
	// megabytes still to write when the writes below commit.
	execSQL(t, pg.DSN(src), `
		INSERT INTO cwd_user (id, user_name, lower_user_name, credential, created_date)
		VALUES (100001, 'late_user', 'late_user', '{PKCS5S2}late', now());
		INSERT INTO sta_activity (id, pr_id, user_id, activity_type) VALUES (900001, 1, 100001, 1);
		UPDATE repository SET name = 'renamed after ready' WHERE id = 150;
		DELETE FROM sta_activity WHERE id <= 1000;
		INSERT INTO bb_attachment VALUES (100001, 'late.bin', '\xdeadbeef');
		SELECT setval('repository_id_seq', 5000);`)
	if d.proc.exited() || d.Size() != 0 {
		t.Fatalf("pg_dump already finished (%v) or was read (%d bytes): the writes were not mid-stream", d.proc.exited(), d.Size())
	}
	assertTablesLocked(t, pg.DSN(src), []string{"cwd_user", "repository", "sta_activity", "bb_attachment"})

	dst := targetDB(t, pg)
	if _, err := Restore(ctx, RestoreOptions{TargetDSN: pg.DSN(dst), BinDir: pg.BinDir, Logger: testLogger(t)}, slowReader{d}); err != nil {
		t.Fatal(err)
	}
	got := fingerprint(t, pg.DSN(dst))
	assertCountedAtReady(t, d, want)
	for name, w := range want {
		if isSequence(w) {
			// pg_dump reads sequences outside the snapshot (they are not
			// transactional): the value may be newer, never older.
			if seqValue(t, got[name]) < seqValue(t, w) {
				t.Errorf("%s: restored %q, older than at Ready %q", name, got[name], w)
			}
			continue
		}
		if got[name] != w {
			t.Errorf("%s: restored %q, want the state at Ready %q", name, got[name], w)
		}
	}
}

// assertCountedAtReady checks the dump's own row counts against the
// source's fingerprint taken when the dump started.
func assertCountedAtReady(t *testing.T, d *Dump, want map[string]string) {
	t.Helper()
	counted, _, err := d.TableRows()
	if err != nil {
		t.Fatalf("TableRows after the whole dump: %v", err)
	}
	tables := 0
	for name, fp := range want {
		if isSequence(fp) {
			continue
		}
		tables++
		if n, _ := strconv.ParseInt(strings.Fields(fp)[0], 10, 64); counted[name] != n {
			t.Errorf("the dump counted %d rows in %s, its snapshot holds %d", counted[name], name, n)
		}
	}
	if len(counted) != tables {
		t.Errorf("the dump counted %d tables, want %d: %v", len(counted), tables, counted)
	}
}

// isSequence tells a sequence's fingerprint ("last_value is_called") from a
// table's ("count md5").
func isSequence(fp string) bool {
	return strings.HasSuffix(fp, " true") || strings.HasSuffix(fp, " false")
}

// seqValue is the last_value of a sequence fingerprint.
func seqValue(t *testing.T, fp string) int64 {
	t.Helper()
	v, err := strconv.ParseInt(strings.Fields(fp + " ")[0], 10, 64)
	if err != nil {
		t.Fatalf("sequence fingerprint %q: %v", fp, err)
	}
	return v
}

// slowReader hands out small reads with a pause now and then, so the dump
// keeps streaming well after the test's writes.
type slowReader struct{ r io.Reader }

func (s slowReader) Read(p []byte) (int, error) {
	if len(p) > 32<<10 {
		p = p[:32<<10]
	}
	time.Sleep(time.Millisecond)
	return s.r.Read(p)
}

// assertTablesLocked checks that DDL on tables cannot get its lock: pg_dump
// holds AccessShareLock on them.
func assertTablesLocked(t *testing.T, dsn string, tables []string) {
	t.Helper()
	conn := connect(t, dsn)
	for _, table := range tables {
		tx, err := conn.Begin(testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		_, err = tx.Exec(testCtx(t), "LOCK TABLE "+table+" IN ACCESS EXCLUSIVE MODE NOWAIT")
		if rerr := tx.Rollback(testCtx(t)); rerr != nil {
			t.Fatal(rerr)
		}
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "55P03" {
			t.Errorf("LOCK TABLE %s NOWAIT after Ready: %v, want lock_not_available (55P03)", table, err)
		}
	}
}

func TestDumpFailuresAreErrorsNotEOF(t *testing.T) {
	pg := testenv.Postgres(t)
	t.Run("unreadable table", func(t *testing.T) {
		db := bitbucketDB(t, pg)
		user, password := loginRole(t, pg)
		execSQL(t, pg.DSN(db), "CREATE TABLE secret (k text); REVOKE ALL ON secret FROM PUBLIC;"+
			"GRANT SELECT ON ALL TABLES IN SCHEMA public TO "+user+"; REVOKE ALL ON secret FROM "+user)
		cleanupSQL(t, pg.DSN(db), "DROP OWNED BY "+user)
		src, err := NewSource(Options{DSN: roleDSN(pg, db, user, password), BinDir: pg.BinDir, Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		d, err := src.Start(testCtx(t), DumpOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		readyErr := d.Ready(testCtx(t))
		_, readErr := io.Copy(io.Discard, d)
		closeErr := d.Close()
		for what, err := range map[string]error{"Ready": readyErr, "Read": readErr, "Close": closeErr} {
			var te *ToolError
			if !errors.As(err, &te) || te.Tool != "pg_dump" || !strings.Contains(err.Error(), "permission denied for table secret") {
				t.Errorf("%s: %v, want pg_dump's permission denied error", what, err)
			}
		}
	})
	t.Run("connection killed mid-stream", func(t *testing.T) {
		db := bitbucketDB(t, pg)
		d, err := newSource(t, pg, db).Start(testCtx(t), DumpOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if err := d.Ready(testCtx(t)); err != nil {
			t.Fatal(err)
		}
		if _, err := io.CopyN(io.Discard, d, 64<<10); err != nil {
			t.Fatal(err)
		}
		var killed bool
		err = connect(t, pg.DSN("postgres")).QueryRow(testCtx(t),
			"SELECT bool_and(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1",
			d.Info().AppName).Scan(&killed)
		if err != nil || !killed {
			t.Fatalf("terminating pg_dump's backend: %v (terminated: %v)", err, killed)
		}
		_, err = io.Copy(io.Discard, d)
		if err == nil || !strings.Contains(err.Error(), "terminating connection") &&
			!strings.Contains(err.Error(), "server closed the connection") {
			t.Fatalf("Read after the server dropped pg_dump: %v, want pg_dump's error", err)
		}
		t.Logf("the error says: %v", err)
	})
}

// loginRole creates a login role without privileges, dropped after the test.
func loginRole(t *testing.T, pg *testenv.PGServer) (user, password string) {
	t.Helper()
	user = uniqueName("role_")
	password = "pw-" + user
	execSQL(t, pg.DSN("postgres"), "CREATE ROLE "+user+" LOGIN PASSWORD '"+password+"'")
	cleanupSQL(t, pg.DSN("postgres"), "DROP ROLE "+user)
	return user, password
}

// roleDSN is pg's DSN for db with another user.
func roleDSN(pg *testenv.PGServer, db, user, password string) string {
	return "host=" + pg.Host + " port=" + strconv.Itoa(pg.Port) + " dbname=" + db +
		" user=" + user + " password='" + password + "' sslmode=disable"
}

func TestStartOnMissingDatabaseSaysWhich(t *testing.T) {
	pg := testenv.Postgres(t)
	_, err := newSource(t, pg, "no_such_db").Start(testCtx(t), DumpOptions{})
	if err == nil {
		t.Fatal("Start on a missing database succeeded")
	}
	for _, want := range []string{`"no_such_db" does not exist`, pg.Host, strconv.Itoa(pg.Port), pg.User} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if strings.Contains(err.Error(), pg.Password) {
		t.Errorf("error shows the password: %v", err)
	}
	t.Logf("the error says: %v", err)
}

func TestCloseBeforeEOFKillsPgDumpAndReleasesConnections(t *testing.T) {
	pg := testenv.Postgres(t)
	db := bitbucketDB(t, pg)
	d, err := newSource(t, pg, db).Start(testCtx(t), DumpOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Ready(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(io.Discard, d, 1024); err != nil {
		t.Fatal(err)
	}
	pid, exportPID := d.proc.cmd.Process.Pid, d.conn.PgConn().PID()
	if err := d.Close(); err != nil {
		t.Fatalf("Close before EOF: %v, want nil (the caller chose to stop)", err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("pg_dump (pid %d) still exists after Close: kill -0 says %v", pid, err)
	}
	if _, err := d.Read(make([]byte, 10)); err == nil {
		t.Error("Read after Close succeeded")
	}
	if rows, _, err := d.TableRows(); err == nil {
		t.Errorf("TableRows of a dump stopped early: %v, want an error", rows)
	}
	waitSessionsGone(t, pg, d.Info().AppName, exportPID)
}

// waitSessionsGone waits up to 10 s for the server sessions named appName or
// with backend pid to end: a backend notices a closed client asynchronously.
func waitSessionsGone(t *testing.T, pg *testenv.PGServer, appName string, pid uint32) {
	t.Helper()
	conn := connect(t, pg.DSN("postgres"))
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		err := conn.QueryRow(testCtx(t), `SELECT count(*) FROM pg_stat_activity
			WHERE application_name = $1 OR pid = $2`, appName, pid).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d server sessions of the dump are still there after 10 s", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestPasswordIsNotOnPgDumpCommandLine(t *testing.T) {
	pg := testenv.Postgres(t)
	db := bitbucketDB(t, pg)
	for name, dsn := range map[string]string{
		"uri":           pg.DSN(db),
		"keyword/value": roleDSN(pg, db, pg.User, pg.Password),
	} {
		t.Run(name, func(t *testing.T) {
			src, err := NewSource(Options{DSN: dsn, BinDir: pg.BinDir, Logger: testLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			d, err := src.Start(testCtx(t), DumpOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			pid := d.proc.cmd.Process.Pid
			cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
			if err != nil {
				t.Fatalf("pg_dump not running while its output is unread: %v", err)
			}
			if !strings.Contains(string(cmdline), "--snapshot=") {
				t.Fatalf("/proc/%d/cmdline is not pg_dump's: %q", pid, cmdline)
			}
			if strings.Contains(string(cmdline), pg.Password) || strings.Contains(strings.Join(d.proc.cmd.Args, " "), pg.Password) {
				t.Errorf("the password is on pg_dump's command line: %q", cmdline)
			}
			if _, err := io.Copy(io.Discard, d); err != nil {
				t.Fatalf("dump with the password from the environment: %v", err)
			}
		})
	}
}

func TestCancelledContextKillsPgDump(t *testing.T) {
	pg := testenv.Postgres(t)
	db := bitbucketDB(t, pg)
	ctx, cancel := context.WithCancel(testCtx(t))
	d, err := newSource(t, pg, db).Start(ctx, DumpOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := io.CopyN(io.Discard, d, 1024); err != nil {
		t.Fatal(err)
	}
	cancel()
	_, err = io.Copy(io.Discard, d)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Read after the context was cancelled: %v, want context.Canceled", err)
	}
	if !d.proc.exited() {
		t.Fatal("pg_dump still running after Read returned")
	}
}

func TestEmptyDatabaseDumpsAndRestores(t *testing.T) {
	pg := testenv.Postgres(t)
	src := pg.NewDB(t)
	d, err := newSource(t, pg, src).Start(testCtx(t), DumpOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Ready(testCtx(t)); err != nil {
		t.Fatalf("Ready on a database without tables: %v", err)
	}
	sum, err := Restore(testCtx(t), RestoreOptions{TargetDSN: pg.DSN(targetDB(t, pg)), BinDir: pg.BinDir}, d)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Tables != 0 || sum.Rows != 0 || sum.Bytes == 0 {
		t.Errorf("restore of an empty database: %+v, want no tables, no rows, a non-empty dump", sum)
	}
}
