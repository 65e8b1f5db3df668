package testenv

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"bbvault/test/servers"
)

// childEnv makes the test binary, run by TestServersStopWithTheTestBinary,
// start both servers, report them on stdout and hold them until stdin closes.
const childEnv = "BBVAULT_TESTENV_CHILD"

// childReport is what the child prints about the servers it started.
type childReport struct {
	MinIOPID, PostgresPID int
	Dirs                  []string
	ShmIDs                []int // PostgreSQL's System V shared memory segments
}

// runChild is the child's whole life; it returns the exit code.
func runChild() int {
	s, err := minioOnce()
	if err != nil {
		fmt.Fprintln(os.Stderr, "child: minio:", err)
		return 1
	}
	p, err := postgresOnce()
	if err != nil {
		fmt.Fprintln(os.Stderr, "child: postgres:", err)
		return 1
	}
	bin, err := bbvaultOnce()
	if err != nil {
		fmt.Fprintln(os.Stderr, "child: bbvault:", err)
		return 1
	}
	report := childReport{MinIOPID: s.PID(), PostgresPID: p.PID(),
		Dirs: []string{s.Dir(), p.Dir(), filepath.Dir(bin)}, ShmIDs: shmSegments(p.PID())}
	if err := json.NewEncoder(os.Stdout).Encode(report); err != nil {
		fmt.Fprintln(os.Stderr, "child: report:", err)
		return 1
	}
	_, _ = io.Copy(io.Discard, os.Stdin) // hold the servers until stdin closes
	if err := running.stopAll(); err != nil {
		fmt.Fprintln(os.Stderr, "child: stop:", err)
		return 1
	}
	return 0
}

func TestServersStopWithTheTestBinary(t *testing.T) {
	MinIO(t) // the children need both servers and bbvault: Need them here first
	Postgres(t)
	Bbvault(t)
	t.Run("normal end stops servers and removes data", func(t *testing.T) {
		t.Parallel()
		cmd, stdin, report := startChild(t)
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Fatalf("child: %v; stderr:\n%s", err, cmd.Stderr)
		}
		assertStopped(t, report, false)
	})
	t.Run("killed binary takes its servers along", func(t *testing.T) {
		t.Parallel()
		cmd, _, report := startChild(t)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait() // "signal: killed" is the point of this test
		assertStopped(t, report, true)
	})
}

// startChild runs this test binary in child mode and reads its report.
func startChild(t *testing.T) (*exec.Cmd, io.WriteCloser, childReport) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.Stderr = &bytes.Buffer{}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var report childReport
	if err := json.NewDecoder(stdout).Decode(&report); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("child report: %v; stderr:\n%s", err, cmd.Stderr)
	}
	if len(report.ShmIDs) == 0 {
		t.Errorf("the child's PostgreSQL (pid %d) has no System V shared memory segment in /proc/sysvipc/shm",
			report.PostgresPID)
	}
	return cmd, stdin, report
}

// assertStopped waits up to 15s for the child's servers to be gone and its
// directories removed (by the next sweep, if the child was killed).
func assertStopped(t *testing.T, r childReport, sweep bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if sweep {
			_, _ = servers.SweepStale()
		}
		left := leftovers(r)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still there after the child ended: %s", strings.Join(left, "; "))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// leftovers lists the child's servers still running, directories still
// present, and its shared memory segment if it is still there.
func leftovers(r childReport) []string {
	var left []string
	for name, pid := range map[string]int{"minio": r.MinIOPID, "postgres": r.PostgresPID} {
		if isRunning(pid) {
			left = append(left, fmt.Sprintf("%s (pid %d) running", name, pid))
		}
	}
	for _, dir := range r.Dirs {
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			left = append(left, dir+" present")
		}
	}
	for _, id := range shmSegments(r.PostgresPID) {
		if slices.Contains(r.ShmIDs, id) {
			left = append(left, fmt.Sprintf("shared memory segment %d present", id))
		}
	}
	return left
}

// shmSegments lists the IDs of the System V shared memory segments that
// process pid created, from /proc/sysvipc/shm (columns: key shmid perms size
// cpid ...).
func shmSegments(pid int) []int {
	data, err := os.ReadFile("/proc/sysvipc/shm")
	if err != nil {
		return nil
	}
	var ids []int
	for line := range strings.Lines(string(data)) {
		f := strings.Fields(line)
		if len(f) < 5 || f[4] != strconv.Itoa(pid) {
			continue
		}
		if id, err := strconv.Atoi(f[1]); err == nil {
			ids = append(ids, id)
		}
	}
	return ids
}

// isRunning reports whether pid is a live process (a zombie is not).
func isRunning(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(stat, ')') // the state follows "pid (comm) "
	if i < 0 || i+2 >= len(stat) {
		return false
	}
	state := stat[i+2]
	return state != 'Z' && state != 'X'
}
