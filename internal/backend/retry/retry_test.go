package retry_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bbvault/internal/backend"
	"bbvault/internal/backend/backendtest"
	"bbvault/internal/backend/faulty"
	"bbvault/internal/backend/local"
	"bbvault/internal/backend/mem"
	"bbvault/internal/backend/retry"
)

// fast retries without noticeable waits.
var fast = retry.Options{Attempts: 4, InitialDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond}

// TestLeftoversThroughFaults: listing and removing leftovers are retried
// like List and Delete.
func TestLeftoversThroughFaults(t *testing.T) {
	var inner *local.Backend
	backendtest.RunLeftovers(t, func(t *testing.T) backend.Backend {
		var err error
		if inner, err = local.Open(t.TempDir()); err != nil {
			t.Fatal(err)
		}
		f := faulty.New(inner, 3, faulty.Fault{Op: faulty.OpList, Every: 2}, faulty.Fault{Op: faulty.OpDelete, Kind: faulty.FailAfter, Every: 2})
		return retry.New(f, fast)
	}, func(t *testing.T, _ backend.Backend, name string) {
		t.Helper()
		dir := filepath.Join(strings.TrimPrefix(inner.Location(), "local:"), filepath.FromSlash(path.Dir(name)))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, ".tmp-left"), []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	})
}

// TestConformanceThroughFaults runs the suite against a backend that fails
// often but recoverably: the retry wrapper must hide every fault.
func TestConformanceThroughFaults(t *testing.T) {
	opts := retry.Options{Attempts: 12, Resumes: 30, InitialDelay: time.Microsecond, MaxDelay: 10 * time.Microsecond}
	backendtest.Run(t, func(t *testing.T) backend.Backend {
		f := faulty.New(mem.New(), 7,
			faulty.Fault{Op: faulty.OpPut, Every: 3},
			faulty.Fault{Op: faulty.OpPut, Kind: faulty.FailAfter, Every: 5},
			faulty.Fault{Op: faulty.OpGet, Every: 4},
			faulty.Fault{Op: faulty.OpGet, Kind: faulty.StreamError, After: 1000, Probability: 0.3},
			faulty.Fault{Op: faulty.OpGet, Kind: faulty.ShortReads, Probability: 0.5},
			faulty.Fault{Op: faulty.OpStat, Every: 3},
			faulty.Fault{Op: faulty.OpList, Kind: faulty.StreamError, After: 3, Every: 2},
			faulty.Fault{Op: faulty.OpDelete, Kind: faulty.FailAfter, Every: 2},
		)
		return retry.New(f, opts)
	})
}

func newObject(t *testing.T, name string, data []byte) *mem.Backend {
	t.Helper()
	m := mem.New()
	if err := m.Put(context.Background(), name, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestGivesUpWithClearError(t *testing.T) {
	f := faulty.New(mem.New(), 1, faulty.Fault{Op: faulty.OpStat})
	var logs bytes.Buffer
	opts := fast
	opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	_, err := retry.New(f, opts).Stat(context.Background(), "index/abc")
	if !errors.Is(err, faulty.ErrInjected) {
		t.Fatalf("Stat: got %v, want the injected error", err)
	}
	for _, part := range []string{"faulty:mem:", "giving up after 4 attempts", "stat index/abc"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not contain %q", err, part)
		}
	}
	if n := f.Calls(faulty.OpStat); n != 4 {
		t.Errorf("Stat was tried %d times, want 4", n)
	}
	if n := strings.Count(logs.String(), "retrying"); n != 3 {
		t.Errorf("logged %d retries, want 3:\n%s", n, logs.String())
	}
}

func TestFinalErrorsAreNotRetried(t *testing.T) {
	cases := map[string]error{
		"permission": backend.ErrPermission,
		"no space":   backend.ErrNoSpace,
		"permanent":  backend.Permanent(errors.New("bucket does not exist")),
	}
	for what, injected := range cases {
		f := faulty.New(mem.New(), 1, faulty.Fault{Op: faulty.OpStat, Err: injected})
		_, err := retry.New(f, fast).Stat(context.Background(), "config")
		if !errors.Is(err, injected) || f.Calls(faulty.OpStat) != 1 {
			t.Errorf("%s: got %v after %d calls, want the error after 1 call", what, err, f.Calls(faulty.OpStat))
		}
	}
	f := faulty.New(mem.New(), 1)
	_, err := retry.New(f, fast).Get(context.Background(), "data/missing", 0, 0)
	if !errors.Is(err, backend.ErrNotFound) || f.Calls(faulty.OpGet) != 1 {
		t.Errorf("Get of a missing object: got %v after %d calls, want ErrNotFound after 1 call", err, f.Calls(faulty.OpGet))
	}
	if !strings.HasPrefix(err.Error(), "faulty:mem:") {
		t.Errorf("error %q does not start with the location", err)
	}
}

func TestStopsWhenContextEnds(t *testing.T) {
	f := faulty.New(mem.New(), 1, faulty.Fault{Op: faulty.OpStat})
	b := retry.New(f, retry.Options{InitialDelay: time.Hour, MaxElapsed: 2 * time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := b.Stat(ctx, "config")
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 10*time.Second {
		t.Errorf("Stat: got %v after %v, want DeadlineExceeded soon after 50ms", err, time.Since(start))
	}
}

func TestMaxElapsedBoundsRetries(t *testing.T) {
	f := faulty.New(mem.New(), 1, faulty.Fault{Op: faulty.OpStat})
	b := retry.New(f, retry.Options{Attempts: 1000, InitialDelay: 10 * time.Millisecond, MaxDelay: 10 * time.Millisecond, MaxElapsed: 100 * time.Millisecond})
	start := time.Now()
	_, err := b.Stat(context.Background(), "config")
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("Stat: got %v after %v", err, time.Since(start))
	}
	if n := f.Calls(faulty.OpStat); n < 2 || n > 30 {
		t.Errorf("Stat was tried %d times within 100ms of 5-10ms waits", n)
	}
}

func TestPutRetriesSeekableReaders(t *testing.T) {
	f := faulty.New(mem.New(), 1, faulty.Fault{Op: faulty.OpPut, First: 2})
	data := []byte("skip-the-object's-bytes")
	r := bytes.NewReader(data)
	if _, err := r.Seek(5, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if err := retry.New(f, fast).Put(context.Background(), "data/x", r, int64(len(data)-5)); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if n := f.Calls(faulty.OpPut); n != 3 {
		t.Errorf("Put was tried %d times, want 3", n)
	}
	checkContent(t, f, "data/x", data[5:])
}

func TestPutDoesNotRetryPlainReaders(t *testing.T) {
	f := faulty.New(mem.New(), 1, faulty.Fault{Op: faulty.OpPut, First: 1})
	r := io.MultiReader(strings.NewReader("abc"))
	err := retry.New(f, fast).Put(context.Background(), "data/x", r, 3)
	if !errors.Is(err, faulty.ErrInjected) || f.Calls(faulty.OpPut) != 1 {
		t.Errorf("Put: got %v after %d calls, want the injected error after 1 call", err, f.Calls(faulty.OpPut))
	}
}

func TestPutWhoseReplyWasLost(t *testing.T) {
	f := faulty.New(mem.New(), 1, faulty.Fault{Op: faulty.OpPut, Kind: faulty.FailAfter, First: 1})
	data := []byte("stored, but the reply was lost")
	if err := retry.New(f, fast).Put(context.Background(), "data/x", bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatalf("Put: %v", err)
	}
	checkContent(t, f, "data/x", data)
}

func checkContent(t *testing.T, b backend.Backend, name string, want []byte) {
	t.Helper()
	rc, err := b.Get(context.Background(), name, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("%s holds %q, %v; want %q", name, got, err, want)
	}
}

func TestGetResumesBrokenStreams(t *testing.T) {
	data := make([]byte, 100_000)
	for i := range data {
		data[i] = byte(i % 251)
	}
	cases := []struct{ offset, length int64 }{{0, 0}, {500, 50_000}, {99_000, 0}, {10, 3000}}
	for _, c := range cases {
		f := faulty.New(newObject(t, "data/x", data), 1, faulty.Fault{Op: faulty.OpGet, Kind: faulty.StreamError, After: 1000, First: 3})
		rc, err := retry.New(f, fast).Get(context.Background(), "data/x", c.offset, c.length)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		end := int64(len(data))
		if c.length > 0 {
			end = c.offset + c.length
		}
		if err != nil || !bytes.Equal(got, data[c.offset:end]) {
			t.Errorf("Get(%d, %d): read %d bytes, %v; want %d bytes", c.offset, c.length, len(got), err, end-c.offset)
		}
	}
}

func TestGetGivesUpResuming(t *testing.T) {
	f := faulty.New(newObject(t, "data/x", make([]byte, 1000)), 1, faulty.Fault{Op: faulty.OpGet, Kind: faulty.StreamError, After: 10})
	opts := fast
	opts.Resumes = 2
	rc, err := retry.New(f, opts).Get(context.Background(), "data/x", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if !errors.Is(err, faulty.ErrInjected) || !strings.Contains(err.Error(), "giving up after 2 resumed reads") {
		t.Errorf("read: got %v, want the injected error after 2 resumes", err)
	}
	if len(got) != 30 || f.Calls(faulty.OpGet) != 3 {
		t.Errorf("read %d bytes in %d Gets, want 30 bytes in 3", len(got), f.Calls(faulty.OpGet))
	}
}

func TestListRetryPassesEachNameOnce(t *testing.T) {
	m := mem.New()
	for i := range 50 {
		if err := m.Put(context.Background(), fmt.Sprintf("index/%02d", i), bytes.NewReader(nil), 0); err != nil {
			t.Fatal(err)
		}
	}
	f := faulty.New(m, 1, faulty.Fault{Op: faulty.OpList, Kind: faulty.StreamError, After: 20, First: 2})
	seen := make(map[string]int)
	err := retry.New(f, fast).List(context.Background(), "index/", func(info backend.ObjectInfo) error {
		seen[info.Name]++
		return nil
	})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	for name, n := range seen {
		if n != 1 {
			t.Errorf("%s passed on %d times", name, n)
		}
	}
	if len(seen) != 50 || f.Calls(faulty.OpList) != 3 {
		t.Errorf("List passed on %d names in %d tries, want 50 in 3", len(seen), f.Calls(faulty.OpList))
	}
}
