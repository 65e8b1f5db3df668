package flow

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"bbvault/internal/dbstream"
	"bbvault/test/standin"
)

// vendorDump stands in for a vendor's dump tool: it announces its snapshot
// on stderr, writes half of $SRC, touches $HALF, waits for a line on the
// FIFO $GATE, writes the rest; with $FAIL it fails instead, as a tool does.
const vendorDump = `
size=$(wc -c < "$SRC"); half=$((size / 2))
echo "Export: snapshot fixed at SCN 7261" >&2
head -c "$half" "$SRC"
touch "$HALF"
read -r _ < "$GATE"
if [ -n "${FAIL:-}" ]; then echo "EXP-00056: ORACLE error 12154 encountered" >&2; exit 1; fi
tail -c +"$((half + 1))" "$SRC"
`

type vendorEnv struct {
	*env
	src, half, gate string
	data            []byte
}

func newVendorEnv(t *testing.T) *vendorEnv {
	e := &vendorEnv{env: newEnv(t, standin.Options{})}
	dir := t.TempDir()
	e.src, e.half, e.gate = filepath.Join(dir, "src"), filepath.Join(dir, "half"), filepath.Join(dir, "gate")
	e.data = make([]byte, 3<<20)
	rand.Read(e.data)
	if err := os.WriteFile(e.src, e.data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(e.gate, 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *vendorEnv) database(ready string, extra ...string) *CommandDatabase {
	db := &CommandDatabase{Command: vendorDump,
		Env: dbstream.CommandEnv(append([]string{"SRC=" + e.src, "HALF=" + e.half, "GATE=" + e.gate}, extra...))}
	if ready != "" {
		db.Ready = regexp.MustCompile(ready)
	}
	return db
}

// openGateWhen lets the dump finish once it is halfway and cond holds, and
// reports whether Bitbucket was locked at that moment.
func (e *vendorEnv) openGateWhen(cond func() bool) <-chan bool {
	locked := make(chan bool, 1)
	go func() {
		waitUntil(func() bool { _, err := os.Stat(e.half); return err == nil && cond() })
		locked <- e.bb.Locked()
		_ = os.WriteFile(e.gate, []byte("go\n"), 0o600)
	}()
	return locked
}

func waitUntil(cond func() bool) {
	for deadline := time.Now().Add(time.Minute); !cond() && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
}

func (e *vendorEnv) snapshot(db Database) (*Result, error) {
	return Snapshot(context.Background(), e.r, SnapshotOptions{Home: e.home, Lock: e.locker(bbPass, 10*time.Second), Database: db})
}

// With --db-dump-ready the lock goes once the tool fixed its snapshot:
// Bitbucket is unlocked while the dump is still halfway.
func TestCommandDumpReleasesTheLockAtItsReadyLine(t *testing.T) {
	e := newVendorEnv(t)
	locked := e.openGateWhen(func() bool { return !e.bb.Locked() && len(e.bb.LockWindows()) == 1 })
	res, err := e.snapshot(e.database(`^Export: snapshot fixed`))
	if err != nil {
		t.Fatal(err)
	}
	if <-locked {
		t.Fatal("the gate opened while locked")
	}
	e.assertUnlocked()
	e.assertRestores(res)
}

// Without it, the whole dump runs under the lock.
func TestCommandDumpWithoutReadyHoldsTheLockToTheEnd(t *testing.T) {
	e := newVendorEnv(t)
	locked := e.openGateWhen(func() bool { return true })
	res, err := e.snapshot(e.database(""))
	if err != nil {
		t.Fatal(err)
	}
	if !<-locked {
		t.Fatal("Bitbucket was unlocked with the dump halfway, though no ready line was given")
	}
	e.assertUnlocked()
	e.assertRestores(res)
}

func (e *vendorEnv) assertRestores(res *Result) {
	e.t.Helper()
	dump := DatabaseOf(res.Manifest)
	if dump == nil || dump.Meta["kind"] != KindCommand || dump.Size != int64(len(e.data)) {
		e.t.Fatalf("manifest's dump = %+v, want the command's %d bytes", dump, len(e.data))
	}
	out := filepath.Join(e.t.TempDir(), "restored")
	rres, err := Restore(context.Background(), e.r, res.Manifest, RestoreOptions{
		Database: &CommandTarget{Command: `cat > "$OUT"; echo "$BBVAULT_DUMP_KIND $BBVAULT_DUMP_SIZE" > "$OUT.meta"`,
			Env: dbstream.CommandEnv([]string{"OUT=" + out})}})
	if err != nil {
		e.t.Fatal(err)
	}
	got, _ := os.ReadFile(out)
	meta, _ := os.ReadFile(out + ".meta")
	if !bytes.Equal(got, e.data) || rres.Database.Bytes != int64(len(e.data)) {
		e.t.Fatalf("the restore command got %d bytes, want the %d dumped", len(got), len(e.data))
	}
	if want := "command 3145728"; strings.TrimSpace(string(meta)) != want {
		e.t.Fatalf("restore command's environment said %q, want %q", meta, want)
	}
	// pg_restore cannot take a vendor's dump: the target says so up front.
	_, err = Restore(context.Background(), e.r, res.Manifest, RestoreOptions{
		Database: &PostgresTarget{Options: dbstream.RestoreOptions{TargetDSN: "postgres://127.0.0.1/x"}}})
	if err == nil || !strings.Contains(err.Error(), "--db-restore-cmd") {
		e.t.Fatalf("pg restore of a command dump: %v, want a refusal naming --db-restore-cmd", err)
	}
}

// A failing tool fails the snapshot like a failed pg_dump: its message,
// unlocked, no manifest.
func TestFailedCommandDumpWritesNoSnapshotAndUnlocks(t *testing.T) {
	for _, ready := range []string{"", `^Export: snapshot fixed`} {
		t.Run("ready="+ready, func(t *testing.T) {
			e := newVendorEnv(t)
			e.openGateWhen(func() bool { return true })
			before := e.snapshotCount()
			_, err := e.snapshot(e.database(ready, "FAIL=1"))
			if err == nil || !errors.Is(err, ErrDatabase) || !strings.Contains(err.Error(), "EXP-00056") {
				t.Fatalf("err = %v, want a database error carrying the tool's message", err)
			}
			e.assertUnlocked()
			if e.snapshotCount() != before {
				t.Fatal("a failed dump wrote a snapshot")
			}
		})
	}
}
