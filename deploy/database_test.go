package deploy

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"bbvault/internal/dbstream"
)

// The example scripts in database/ run here against fake vendor tools
// (neither Oracle nor SQL Server can run on the test machine): each fake
// records its command line and acts as the real tool would on the files and
// pipes it is given. The tests check what a user relies on: the dump comes
// out whole through bbvault's command mechanism, the ready line comes
// before the export, a tool's failure fails the script, and no password is
// ever on a command line.

const dbPassword = "Sc0tt-Tiger-Pw"

// fakeTools writes the fake sqlplus, exp, imp and sqlcmd into a directory
// and returns it; every call is appended to $CALLS, one line per call.
func fakeTools(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	tools := map[string]string{
		// sqlplus -s /nolog, fed "connect ..." and a query on stdin.
		"sqlplus": `echo "sqlplus $*" >> "$CALLS"; cat > "$CALLS.sqlplus-stdin"
grep -q 'current_scn' "$CALLS.sqlplus-stdin" && echo "   7261443"
grep -q 'all_tables' "$CALLS.sqlplus-stdin" && echo "   ${FAKE_TABLES:-0}"
exit 0`,
		// exp/imp parfile=FILE: file= is the pipe, log= the log.
		"exp": `echo "exp $*" >> "$CALLS"; pf=${1#parfile=}; cp "$pf" "$CALLS.parfile"
f=$(sed -n 's/^file=//p' "$pf"); l=$(sed -n 's/^log=//p' "$pf")
if [ -n "${FAKE_FAIL:-}" ]; then echo "EXP-00056: ORACLE error 1017 encountered" > "$l"; : > "$f"; exit 1; fi
cat "$FAKE_DATA" > "$f"; echo "Export terminated successfully without warnings." > "$l"`,
		"imp": `echo "imp $*" >> "$CALLS"; pf=${1#parfile=}
f=$(sed -n 's/^file=//p' "$pf"); l=$(sed -n 's/^log=//p' "$pf")
cat "$f" > "$FAKE_OUT"; echo "Import terminated successfully without warnings." > "$l"`,
		// sqlcmd -b -S S [-U U] -Q QUERY: BACKUP writes $FAKE_DATA to the
		// file named in the query (under the local view of the share).
		"sqlcmd": `echo "sqlcmd $* pw=${SQLCMDPASSWORD:-}" >> "$CALLS"
while [ $# -gt 0 ]; do [ "$1" = -Q ] && q=$2; shift; done
if [ -n "${FAKE_FAIL:-}" ]; then echo "Msg 3201: Cannot open backup device" >&2; exit 1; fi
f=$(printf '%s' "$q" | sed -n "s|.*DISK = N'$MSSQL_SERVER_DIR/\([^']*\)'.*|\1|p")
case "$q" in BACKUP*) cat "$FAKE_DATA" > "$MSSQL_LOCAL_DIR/$f";; RESTORE*) cp "$MSSQL_LOCAL_DIR/$f" "$FAKE_OUT";; esac`,
	}
	for name, body := range tools {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

type dbScriptEnv struct {
	t     *testing.T
	env   []string
	data  []byte
	out   string
	call  string
	share string
}

func newDBScriptEnv(t *testing.T, extra ...string) *dbScriptEnv {
	dir := t.TempDir()
	e := &dbScriptEnv{t: t, data: make([]byte, 2<<20), out: filepath.Join(dir, "restored"), call: filepath.Join(dir, "calls")}
	rand.Read(e.data)
	data := filepath.Join(dir, "data")
	secret := filepath.Join(dir, "secret")
	share := filepath.Join(dir, "share")
	e.share = share
	for path, content := range map[string]string{data: string(e.data), secret: "bitbucket/" + dbPassword + "@BBDB",
		secret + "-mssql": dbPassword} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(share, 0o700); err != nil {
		t.Fatal(err)
	}
	e.env = dbstream.CommandEnv(append([]string{
		"PATH=" + fakeTools(t) + ":" + os.Getenv("PATH"), "CALLS=" + e.call, "FAKE_DATA=" + data, "FAKE_OUT=" + e.out,
		"ORACLE_CONNECT_FILE=" + secret, "ORACLE_SCHEMA=BITBUCKET", "ORACLE_FROM_SCHEMA=BITBUCKET",
		"MSSQL_SERVER=db,1433", "MSSQL_USER=bbbackup", "MSSQL_PASSWORD_FILE=" + secret + "-mssql",
		"MSSQL_DATABASE=bitbucket", "MSSQL_SERVER_DIR=/var/opt/mssql/backup", "MSSQL_LOCAL_DIR=" + share,
		"MSSQL_DATA_DIR=/var/opt/mssql/data"}, extra...))
	return e
}

func script(name string) string {
	abs, _ := filepath.Abs(filepath.Join("database", name))
	return abs
}

// dump runs a dump script the way bbvault does and returns its stream.
func (e *dbScriptEnv) dump(name string) ([]byte, error) {
	d, err := dbstream.StartDump(context.Background(), dbstream.CommandOptions{Name: "--db-dump-cmd",
		Command: script(name), Env: e.env, Ready: regexp.MustCompile(`^bbvault-ready`)})
	if err != nil {
		e.t.Fatal(err)
	}
	defer d.Close()
	ready := make(chan error, 1)
	go func() { ready <- d.Ready(context.Background()) }()
	out, err := io.ReadAll(d)
	if rerr := <-ready; err == nil && rerr != nil {
		e.t.Fatalf("ready: %v", rerr)
	}
	return out, err
}

// assertNoPasswordInArgs checks every recorded command line.
func (e *dbScriptEnv) assertNoPasswordInArgs() {
	e.t.Helper()
	calls, err := os.ReadFile(e.call)
	if err != nil {
		e.t.Fatal(err)
	}
	for line := range strings.Lines(string(calls)) {
		args, _, _ := strings.Cut(line, " pw=")
		if strings.Contains(args, dbPassword) {
			e.t.Fatalf("a password on a command line: %s", line)
		}
	}
}

func TestOracleScripts(t *testing.T) {
	e := newDBScriptEnv(t)
	got, err := e.dump("oracle-dump.sh")
	if err != nil || !bytes.Equal(got, e.data) {
		t.Fatalf("oracle-dump.sh: %d bytes, err %v; want the %d bytes exp wrote", len(got), err, len(e.data))
	}
	parfile, _ := os.ReadFile(e.call + ".parfile")
	if !strings.Contains(string(parfile), "flashback_scn=7261443") || !strings.Contains(string(parfile), "owner=BITBUCKET") {
		t.Fatalf("exp's parameter file lacks the SCN or the schema:\n%s", parfile)
	}
	e.restore("oracle-restore.sh")
	e.assertNoPasswordInArgs()
}

func TestSQLServerScripts(t *testing.T) {
	e := newDBScriptEnv(t)
	got, err := e.dump("sqlserver-dump.sh")
	if err != nil || !bytes.Equal(got, e.data) {
		t.Fatalf("sqlserver-dump.sh: %d bytes, err %v; want the %d bytes of the backup", len(got), err, len(e.data))
	}
	calls, _ := os.ReadFile(e.call)
	if !strings.Contains(string(calls), "COPY_ONLY, NO_COMPRESSION") || !strings.Contains(string(calls), "pw="+dbPassword) {
		t.Fatalf("sqlcmd calls lack a copy-only uncompressed backup or the password in SQLCMDPASSWORD:\n%s", calls)
	}
	if left, _ := os.ReadDir(e.share); len(left) != 0 {
		t.Fatalf("the backup file was left in the share: %v", left)
	}
	e.restore("sqlserver-restore.sh")
	e.assertNoPasswordInArgs()
}

func (e *dbScriptEnv) restore(name string) {
	e.t.Helper()
	n, err := dbstream.RunRestore(context.Background(), dbstream.CommandOptions{Name: "--db-restore-cmd",
		Command: script(name), Env: e.env}, bytes.NewReader(e.data))
	got, _ := os.ReadFile(e.out)
	if err != nil || n != int64(len(e.data)) || !bytes.Equal(got, e.data) {
		e.t.Fatalf("%s: fed %d bytes, tool got %d, err %v; want %d", name, n, len(got), err, len(e.data))
	}
}

func TestDatabaseScriptsFailWithTheToolsMessage(t *testing.T) {
	for script, msg := range map[string]string{"oracle-dump.sh": "EXP-00056", "sqlserver-dump.sh": "Msg 3201"} {
		t.Run(script, func(t *testing.T) {
			e := newDBScriptEnv(t, "FAKE_FAIL=1")
			_, err := e.dump(script)
			if err == nil || !strings.Contains(err.Error(), msg) {
				t.Fatalf("err = %v, want the tool's message %q", err, msg)
			}
		})
	}
}

func TestOracleRestoreRefusesASchemaWithTables(t *testing.T) {
	e := newDBScriptEnv(t, "FAKE_TABLES=212")
	_, err := dbstream.RunRestore(context.Background(), dbstream.CommandOptions{Name: "--db-restore-cmd",
		Command: script("oracle-restore.sh"), Env: e.env}, bytes.NewReader(e.data))
	if err == nil || !strings.Contains(err.Error(), "holds 212 tables") {
		t.Fatalf("err = %v, want a refusal of a schema holding tables", err)
	}
}
