package measure

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary act as a child that burns CPU and memory.
func TestMain(m *testing.M) {
	if os.Getenv("MEASURE_CHILD") == "1" {
		child()
		return
	}
	os.Exit(m.Run())
}

// child allocates and touches 128 MiB, then spins until it has used 300 ms
// of CPU (not of wall time: on a busy machine that is less CPU).
func child() {
	mem := make([]byte, 128<<20)
	for i := 0; i < len(mem); i += 4096 {
		mem[i] = 1
	}
	x := 0
	for cpuUsed() < 300*time.Millisecond {
		for range 1 << 16 {
			x++
		}
	}
	os.Stdout.WriteString(`{"ok":true}`)
	os.Stderr.WriteString("child done\n")
	if mem[4096] != 1 || x < 0 {
		os.Exit(3)
	}
}

func cpuUsed() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestRunMeasuresChild(t *testing.T) {
	log := filepath.Join(t.TempDir(), "child.log")
	r := Run(context.Background(), Cmd{Path: os.Args[0], Env: append(os.Environ(), "MEASURE_CHILD=1"),
		LogPath: log, CaptureStdout: true})
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if r.MaxRSS < 128<<20 {
		t.Errorf("peak RSS %d bytes; the child touched 128 MiB", r.MaxRSS)
	}
	if r.CPU() < 300*time.Millisecond || r.Wall < r.CPU()/2 {
		t.Errorf("CPU %s, wall %s; the child spun for 300 ms of CPU", r.CPU(), r.Wall)
	}
	if string(r.Stdout) != `{"ok":true}` {
		t.Errorf("stdout %q, want the child's JSON", r.Stdout)
	}
	if data, _ := os.ReadFile(log); !strings.Contains(string(data), "child done") {
		t.Errorf("log %q lacks the child's stderr", data)
	}
}

// TestRunPeakIsTheChilds holds 256 MiB in this process while a small child
// runs: the child's peak must not include them (a wait4 after vfork would
// report this process's peak).
func TestRunPeakIsTheChilds(t *testing.T) {
	mem := make([]byte, 256<<20)
	for i := 0; i < len(mem); i += 4096 {
		mem[i] = 1
	}
	r := Run(context.Background(), Cmd{Path: "sh", Args: []string{"-c", "true; exit 0"}})
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if r.MaxRSS == 0 || r.MaxRSS > 64<<20 {
		t.Errorf("a shell running true peaked at %d bytes, beside a parent holding %d", r.MaxRSS, len(mem))
	}
}

func TestRunReportsFailureWithStderr(t *testing.T) {
	r := Run(context.Background(), Cmd{Path: "/bin/sh", Args: []string{"-c", "echo first >&2; echo 'the real cause' >&2; exit 4"}})
	if r.Err == nil || !strings.Contains(r.Err.Error(), "the real cause") || !strings.Contains(r.Err.Error(), "exit status 4") {
		t.Fatalf("error %v: want the exit status and the end of stderr", r.Err)
	}
}

func TestRunCountsWaitedDescendants(t *testing.T) {
	// sh waits for the CPU-burning child, so its rusage includes it.
	script := `"$0" >/dev/null; true`
	r := Run(context.Background(), Cmd{Path: "/bin/sh", Args: []string{"-c", script, os.Args[0]},
		Env: append(os.Environ(), "MEASURE_CHILD=1")})
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if r.CPU() < 300*time.Millisecond || r.MaxRSS < 128<<20 {
		t.Fatalf("CPU %s, peak %d: the grandchild's costs are missing", r.CPU(), r.MaxRSS)
	}
}

func TestSeq(t *testing.T) {
	a := Result{Wall: time.Second, User: 2 * time.Second, MaxRSS: 10}
	b := Result{Wall: 3 * time.Second, Sys: time.Second, MaxRSS: 30}
	s := Seq(a, b)
	if s.Wall != 4*time.Second || s.CPU() != 3*time.Second || s.MaxRSS != 30 {
		t.Fatalf("Seq = %+v", s)
	}
}

func TestDirSize(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a"), make([]byte, 1000), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sub", "b"), make([]byte, 24), 0o644); err != nil {
		t.Fatal(err)
	}
	bytes, files, err := DirSize(dir)
	if err != nil || bytes != 1024 || files != 2 {
		t.Fatalf("DirSize = %d bytes, %d files, %v; want 1024, 2", bytes, files, err)
	}
	if bytes, _, err := DirSize(filepath.Join(dir, "missing")); err != nil || bytes != 0 {
		t.Fatalf("DirSize of a missing directory = %d, %v; want 0, nil", bytes, err)
	}
}
