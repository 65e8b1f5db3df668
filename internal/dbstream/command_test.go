package dbstream

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// standinDump is a dump command: it writes the file $DUMP_SOURCE to stdout
// in two halves, announcing "snapshot fixed" on stderr first; with
// $DUMP_GATE it waits for a line on that FIFO between the halves; with
// $DUMP_FAIL it fails after the first half, printing its password.
const standinDump = `
size=$(wc -c < "$DUMP_SOURCE")
half=$((size / 2))
echo "connecting as backup" >&2
echo "snapshot fixed at 42" >&2
head -c "$half" "$DUMP_SOURCE"
if [ -n "${DUMP_FAIL:-}" ]; then echo "ORA-01555: snapshot too old (login backup/$DB_PASSWORD)" >&2; exit 3; fi
if [ -n "${DUMP_GATE:-}" ]; then read -r _ < "$DUMP_GATE"; fi
tail -c +"$((half + 1))" "$DUMP_SOURCE"
`

func writeSource(t *testing.T, n int) (string, []byte) {
	t.Helper()
	data := make([]byte, n)
	rand.Read(data)
	path := filepath.Join(t.TempDir(), "source.bin")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, data
}

func dumpOpts(env ...string) CommandOptions {
	return CommandOptions{Name: "--db-dump-cmd", Command: standinDump, Env: CommandEnv(env)}
}

func TestDumpCommandStreamsItsOutput(t *testing.T) {
	src, want := writeSource(t, 3<<20)
	d, err := StartDump(context.Background(), dumpOpts("DUMP_SOURCE="+src))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(d)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if !bytes.Equal(got, want) || d.Size() != int64(len(want)) {
		t.Fatalf("got %d bytes (size %d), want the %d bytes the command wrote", len(got), d.Size(), len(want))
	}
	if err := d.Ready(context.Background()); err != nil {
		t.Fatalf("ready after a successful end: %v", err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
}

// Without a pattern, Ready waits for the end: the dump holds the lock
// until the command exits, which is after its whole output was written.
func TestDumpCommandWithoutPatternIsReadyAtTheEnd(t *testing.T) {
	src, want := writeSource(t, 1<<20)
	gate := newGate(t)
	d, err := StartDump(context.Background(), dumpOpts("DUMP_SOURCE="+src, "DUMP_GATE="+gate))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ready := make(chan error, 1)
	go func() { ready <- d.Ready(context.Background()) }()
	first := make([]byte, len(want)/2)
	if _, err := io.ReadFull(d, first); err != nil {
		t.Fatal(err)
	}
	// The command now waits on the gate with half its dump written.
	select {
	case err := <-ready:
		t.Fatalf("Ready returned (%v) with half of the dump still to come", err)
	default:
	}
	if err := os.WriteFile(gate, []byte("go\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(d)
	if err != nil || !bytes.Equal(append(first, rest...), want) {
		t.Fatalf("read: %v", err)
	}
	if err := <-ready; err != nil {
		t.Fatalf("ready: %v", err)
	}
}

func newGate(t *testing.T) string {
	t.Helper()
	gate := filepath.Join(t.TempDir(), "gate")
	if err := syscall.Mkfifo(gate, 0o600); err != nil {
		t.Fatal(err)
	}
	return gate
}

// With a pattern, Ready returns at the line, while the command still runs.
func TestDumpCommandReadyAtItsLine(t *testing.T) {
	src, want := writeSource(t, 1<<20)
	gate := newGate(t)
	opts := dumpOpts("DUMP_SOURCE="+src, "DUMP_GATE="+gate)
	opts.Ready = regexp.MustCompile(`^snapshot fixed`)
	d, err := StartDump(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var got bytes.Buffer
	read := make(chan error, 1)
	go func() { _, err := io.Copy(&got, d); read <- err }()
	if err := d.Ready(context.Background()); err != nil {
		t.Fatalf("ready: %v", err)
	}
	// The command waits on the gate: it is still running, mid-dump.
	if d.proc.exited() {
		t.Fatal("Ready returned only after the command ended")
	}
	if err := os.WriteFile(gate, []byte("go\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := <-read; err != nil || !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("read %d bytes, err %v; want %d bytes", got.Len(), err, len(want))
	}
}

// A command that fails is an error at the end of the stream, never a short
// successful dump, with its message and without its secrets.
func TestDumpCommandFailureCarriesItsMessageRedacted(t *testing.T) {
	const secret = "Tiger-Scott-1987"
	src, _ := writeSource(t, 256<<10)
	opts := dumpOpts("DUMP_SOURCE="+src, "DUMP_FAIL=1", "DB_PASSWORD="+secret)
	opts.Ready = regexp.MustCompile(`never printed`)
	d, err := StartDump(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	_, rerr := io.ReadAll(d)
	var te *ToolError
	if !errors.As(rerr, &te) || te.Tool != "--db-dump-cmd" {
		t.Fatalf("read error = %v, want the command's ToolError", rerr)
	}
	if !strings.Contains(rerr.Error(), "ORA-01555") || !strings.Contains(rerr.Error(), "exit status 3") {
		t.Fatalf("error %q lacks the command's message and status", rerr)
	}
	if strings.Contains(rerr.Error(), secret) {
		t.Fatalf("error %q shows the password", rerr)
	}
	if err := d.Ready(context.Background()); err == nil {
		t.Fatal("Ready succeeded for a command that failed before its line")
	}
}

func TestDumpCommandGetsNoBbvaultSecrets(t *testing.T) {
	t.Setenv("BBVAULT_PASSWORD", "repo-secret")
	t.Setenv("BITBUCKET_TOKEN", "bb-secret")
	t.Setenv("ORACLE_SID", "BB")
	d, err := StartDump(context.Background(), CommandOptions{
		Command: `echo "${BBVAULT_PASSWORD:-none} ${BITBUCKET_TOKEN:-none} ${ORACLE_SID:-none}"`})
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(d)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != "none none BB" {
		t.Fatalf("the command saw %q, want bbvault's secrets gone and the rest kept", got)
	}
}

func TestClosingADumpCommandKillsIt(t *testing.T) {
	d, err := StartDump(context.Background(), CommandOptions{Command: `echo started; sleep 600 & wait`})
	if err != nil {
		t.Fatal(err)
	}
	line := make([]byte, 8)
	if _, err := io.ReadFull(d, line); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("close of a killed command: %v", err)
	}
	if !d.proc.exited() {
		t.Fatal("the command still runs after Close")
	}
}

func TestRestoreCommandReadsTheWholeStream(t *testing.T) {
	_, want := writeSource(t, 2<<20)
	out := filepath.Join(t.TempDir(), "restored")
	n, err := RunRestore(context.Background(), CommandOptions{Name: "--db-restore-cmd",
		Command: `cat > "$OUT"`, Env: CommandEnv([]string{"OUT=" + out})}, bytes.NewReader(want))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(out)
	if n != int64(len(want)) || !bytes.Equal(got, want) {
		t.Fatalf("fed %d bytes, command wrote %d; want %d identical", n, len(got), len(want))
	}
}

func TestRestoreCommandFailures(t *testing.T) {
	cases := map[string]struct {
		command string
		size    int
		want    string
	}{
		"exits non-zero":           {`cat > /dev/null; echo "ORA-39002: invalid operation" >&2; exit 5`, 1 << 20, "ORA-39002"},
		"ignores a small stream":   {`exit 0`, 1000, "without reading the whole dump"},
		"ignores a large stream":   {`exit 0`, 8 << 20, "without reading the whole dump"},
		"stops halfway, exiting 0": {`head -c 100 > /dev/null`, 1 << 20, "without reading the whole dump"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, data := writeSource(t, c.size)
			_, err := RunRestore(context.Background(), CommandOptions{Name: "--db-restore-cmd", Command: c.command},
				bytes.NewReader(data))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one saying %q", err, c.want)
			}
		})
	}
}

func TestRestoreCommandReportsABrokenStream(t *testing.T) {
	broken := io.MultiReader(bytes.NewReader(make([]byte, 100<<10)), errReader{errors.New("pack 1234 is damaged")})
	_, err := RunRestore(context.Background(), CommandOptions{Command: `cat > /dev/null`}, broken)
	if err == nil || !strings.Contains(err.Error(), "pack 1234 is damaged") {
		t.Fatalf("err = %v, want the stream's error", err)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func TestCheckCommand(t *testing.T) {
	if err := CheckCommand("--db-dump-cmd", "sh -c true"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "   ", "/no/such/oracle-dump.sh --full"} {
		if err := CheckCommand("--db-dump-cmd", bad); err == nil || !strings.Contains(err.Error(), "--db-dump-cmd") {
			t.Errorf("CheckCommand(%q) = %v, want an error naming the flag", bad, err)
		}
	}
}
