package faulty_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"

	"bbvault/internal/backend"
	"bbvault/internal/backend/faulty"
	"bbvault/internal/backend/mem"
)

func withObject(t *testing.T, name string, data []byte) *mem.Backend {
	t.Helper()
	m := mem.New()
	if err := m.Put(context.Background(), name, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	return m
}

// failures returns, for n Stat calls, which ones failed.
func failures(b *faulty.Backend, n int) []bool {
	out := make([]bool, n)
	for i := range out {
		_, err := b.Stat(context.Background(), "config")
		out[i] = errors.Is(err, faulty.ErrInjected)
	}
	return out
}

func TestFirstAndEvery(t *testing.T) {
	m := withObject(t, "config", []byte("c"))
	got := failures(faulty.New(m, 1, faulty.Fault{Op: faulty.OpStat, First: 2}), 5)
	if want := []bool{true, true, false, false, false}; !slices.Equal(got, want) {
		t.Errorf("First: 2 failed calls %v, want %v", got, want)
	}
	got = failures(faulty.New(m, 1, faulty.Fault{Op: faulty.OpStat, Every: 3}), 7)
	if want := []bool{false, false, true, false, false, true, false}; !slices.Equal(got, want) {
		t.Errorf("Every: 3 failed calls %v, want %v", got, want)
	}
	got = failures(faulty.New(m, 1, faulty.Fault{Op: faulty.OpGet}), 3)
	if slices.Contains(got, true) {
		t.Errorf("a Get fault made Stat fail: %v", got)
	}
}

func TestProbabilityIsSeeded(t *testing.T) {
	m := withObject(t, "config", []byte("c"))
	fault := faulty.Fault{Op: faulty.OpStat, Probability: 0.5}
	a := failures(faulty.New(m, 42, fault), 200)
	b := failures(faulty.New(m, 42, fault), 200)
	c := failures(faulty.New(m, 43, fault), 200)
	if !slices.Equal(a, b) {
		t.Error("the same seed gave different faults")
	}
	if slices.Equal(a, c) {
		t.Error("different seeds gave the same 200 draws")
	}
	if n := count(a); n < 60 || n > 140 {
		t.Errorf("probability 0.5 failed %d of 200 calls", n)
	}
}

func count(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

func TestPrefixAndCustomError(t *testing.T) {
	m := withObject(t, "data/x", []byte("x"))
	custom := errors.New("disk on fire")
	b := faulty.New(m, 1, faulty.Fault{Op: faulty.OpAny, Prefix: "data/", Err: custom})
	if _, err := b.Stat(context.Background(), "data/x"); !errors.Is(err, custom) {
		t.Errorf("Stat under the prefix: got %v, want the custom error", err)
	}
	if _, err := b.Stat(context.Background(), "keys/x"); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("Stat outside the prefix: got %v, want the real ErrNotFound", err)
	}
}

func TestFailAfterStillStores(t *testing.T) {
	m := mem.New()
	b := faulty.New(m, 1, faulty.Fault{Op: faulty.OpPut, Kind: faulty.FailAfter})
	err := b.Put(context.Background(), "data/x", bytes.NewReader([]byte("abc")), 3)
	if !errors.Is(err, faulty.ErrInjected) {
		t.Fatalf("Put: got %v, want ErrInjected", err)
	}
	if info, err := m.Stat(context.Background(), "data/x"); err != nil || info.Size != 3 {
		t.Errorf("the object was not stored: %+v, %v", info, err)
	}
	if b.Calls(faulty.OpPut) != 1 || b.Calls(faulty.OpAny) != 1 {
		t.Errorf("Calls = %d puts, %d in all; want 1, 1", b.Calls(faulty.OpPut), b.Calls(faulty.OpAny))
	}
}

func TestSlowHonoursContext(t *testing.T) {
	b := faulty.New(mem.New(), 1, faulty.Fault{Kind: faulty.Slow, Delay: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := b.Stat(ctx, "config")
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 10*time.Second {
		t.Errorf("slow Stat: got %v after %v, want DeadlineExceeded soon after 20ms", err, time.Since(start))
	}
}

func TestStreams(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 100)
	m := withObject(t, "data/x", data)
	cases := []struct {
		fault   faulty.Fault
		want    []byte
		wantErr error
	}{
		{faulty.Fault{Op: faulty.OpGet, Kind: faulty.ShortReads}, data, nil},
		{faulty.Fault{Op: faulty.OpGet, Kind: faulty.Truncate, After: 250}, data[:250], nil},
		{faulty.Fault{Op: faulty.OpGet, Kind: faulty.StreamError, After: 300}, data[:300], faulty.ErrInjected},
	}
	for _, c := range cases {
		rc, err := faulty.New(m, 1, c.fault).Get(context.Background(), "data/x", 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		got, err := readAllCounting(t, rc, c.fault.Kind == faulty.ShortReads)
		if !errors.Is(err, c.wantErr) || (c.wantErr == nil && err != nil) || !bytes.Equal(got, c.want) {
			t.Errorf("kind %d: read %d bytes, %v; want %d bytes, %v", c.fault.Kind, len(got), err, len(c.want), c.wantErr)
		}
	}
}

// readAllCounting reads rc to the end with a large buffer; with short set it
// checks that no Read returned more than 16 bytes.
func readAllCounting(t *testing.T, rc io.ReadCloser, short bool) ([]byte, error) {
	t.Helper()
	defer rc.Close()
	var out []byte
	buf := make([]byte, 4096)
	for {
		n, err := rc.Read(buf)
		if short && n > 16 {
			t.Errorf("short reads: a Read returned %d bytes", n)
		}
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

func TestListStreamError(t *testing.T) {
	m := mem.New()
	for i := range 10 {
		if err := m.Put(context.Background(), fmt.Sprintf("snapshots/%d", i), bytes.NewReader(nil), 0); err != nil {
			t.Fatal(err)
		}
	}
	b := faulty.New(m, 1, faulty.Fault{Op: faulty.OpList, Kind: faulty.StreamError, After: 4})
	seen := 0
	err := b.List(context.Background(), "snapshots/", func(backend.ObjectInfo) error { seen++; return nil })
	if !errors.Is(err, faulty.ErrInjected) || seen != 4 {
		t.Errorf("List: %d objects, %v; want 4 objects, then ErrInjected", seen, err)
	}
}
