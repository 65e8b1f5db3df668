package dbstream

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"bbvault/test/testenv"
)

func TestCheckReportsServerAndPgDump(t *testing.T) {
	pg := testenv.Postgres(t)
	db := pg.NewDB(t)
	for name, binDir := range map[string]string{"pg-bin": pg.BinDir, "searched": ""} {
		t.Run(name, func(t *testing.T) {
			src, err := NewSource(Options{DSN: pg.DSN(db), BinDir: binDir})
			if err != nil {
				t.Fatal(err)
			}
			info, err := src.Check(testCtx(t))
			if err != nil {
				t.Fatal(err)
			}
			var serverNum int
			var encoding string
			err = connect(t, pg.DSN(db)).QueryRow(testCtx(t),
				"SELECT current_setting('server_version_num')::int, pg_encoding_to_char(encoding) FROM pg_database WHERE datname = current_database()").
				Scan(&serverNum, &encoding)
			if err != nil {
				t.Fatal(err)
			}
			if info.Server != Version(serverNum) || info.Database != db || info.Encoding != encoding {
				t.Errorf("Check: server %v database %q encoding %q; want %v, %q, %q",
					info.Server, info.Database, info.Encoding, Version(serverNum), db, encoding)
			}
			out, err := exec.Command(info.PgDumpPath, "--version").Output()
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(out), " "+info.PgDump.String()) || info.PgDump.majorKey() < info.Server.majorKey() {
				t.Errorf("Check says pg_dump %v at %s; it says %q; server %v", info.PgDump, info.PgDumpPath, out, info.Server)
			}
			t.Logf("server %v, database %s (%s), pg_dump %v at %s", info.Server, info.Database, info.Encoding, info.PgDump, info.PgDumpPath)
		})
	}
}

func TestCheckBadPasswordNamesEverythingButThePassword(t *testing.T) {
	pg := testenv.Postgres(t)
	db := pg.NewDB(t)
	wrong := "wrong-" + pg.Password
	for name, dsn := range map[string]string{
		"uri":           strings.Replace(pg.DSN(db), pg.Password, wrong, 1),
		"keyword/value": roleDSN(pg, db, pg.User, wrong),
	} {
		t.Run(name, func(t *testing.T) {
			src, err := NewSource(Options{DSN: dsn, BinDir: pg.BinDir})
			if err != nil {
				t.Fatal(err)
			}
			_, err = src.Check(testCtx(t))
			if err == nil {
				t.Fatal("Check with a wrong password succeeded")
			}
			for _, want := range []string{"rejected the login", "password", pg.Host, strconv.Itoa(pg.Port), pg.User, db} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			if strings.Contains(err.Error(), wrong) || strings.Contains(err.Error(), pg.Password) {
				t.Errorf("error shows the password: %v", err)
			}
			t.Logf("the error says: %v", err)
		})
	}
}

func TestCheckRefusesOlderPgDump(t *testing.T) {
	pg := testenv.Postgres(t)
	db := pg.NewDB(t)
	// A stand-in for an old client installation: only its version output
	// matters, Check never runs it further.
	old := t.TempDir()
	script := "#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n"
	if err := os.WriteFile(filepath.Join(old, "pg_dump"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	src, err := NewSource(Options{DSN: pg.DSN(db), BinDir: old})
	if err != nil {
		t.Fatal(err)
	}
	info, err := src.Check(testCtx(t))
	if err == nil || !strings.Contains(err.Error(), "--pg-bin") || !strings.Contains(err.Error(), "9.6.24") ||
		!strings.Contains(err.Error(), info.Server.String()) {
		t.Fatalf("Check with pg_dump 9.6 against %v: %v, want a refusal naming both versions and --pg-bin", info.Server, err)
	}
	t.Logf("the error says: %v", err)
	if _, err := src.Start(testCtx(t), DumpOptions{}); err == nil || !strings.Contains(err.Error(), "--pg-bin") {
		t.Fatalf("Start with pg_dump 9.6: %v, want the same refusal", err)
	}
	empty := t.TempDir()
	src, err = NewSource(Options{DSN: pg.DSN(db), BinDir: empty})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Check(testCtx(t)); err == nil || !strings.Contains(err.Error(), "pg_dump not found in "+empty) {
		t.Fatalf("Check with a --pg-bin lacking pg_dump: %v", err)
	}
}
