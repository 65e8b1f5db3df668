package backendtest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"bbvault/internal/backend"
)

type testCase struct {
	name string
	fn   func(t *testing.T, b backend.Backend)
}

var cases = []testCase{
	{"Location", testLocation},
	{"RoundTrip", testRoundTrip},
	{"RangedGet", testRangedGet},
	{"RangedGetEmptyObject", testRangedGetEmpty},
	{"Stat", testStat},
	{"Missing", testMissing},
	{"List", testList},
	{"ListStopsOnCallbackError", testListStop},
	{"ListShowsOnlyCompleteObjects", testListDuringPuts},
	{"Delete", testDelete},
	{"Overwrite", testOverwrite},
	{"PutShortReader", testPutShort},
	{"PutLongReader", testPutLong},
	{"PutNonSeekableReader", testPutNonSeekable},
	{"InvalidNames", testInvalidNames},
	{"Concurrent", testConcurrent},
	{"CancelledContext", testCancelled},
	{"NoLeftoversFromCompletePuts", testNoLeftovers},
}

// Run runs the conformance suite. newBackend returns a fresh, empty backend
// for each subtest; Run closes it when the subtest ends.
func Run(t *testing.T, newBackend func(t *testing.T) backend.Backend) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newBackend(t)
			t.Cleanup(func() {
				if err := b.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.fn(t, b)
		})
	}
}

// randomData returns n pseudo-random bytes determined by seed.
func randomData(seed uint64, n int) []byte {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	binary.LittleEndian.PutUint64(key[8:], uint64(n))
	buf := make([]byte, n)
	_, _ = rand.NewChaCha8(key).Read(buf) // never fails
	return buf
}

// put stores data under name and fails the test on error.
func put(t testing.TB, b backend.Backend, name string, data []byte) {
	t.Helper()
	if err := b.Put(context.Background(), name, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatalf("Put(%q, %d bytes): %v", name, len(data), err)
	}
}

// get reads a range of name and fails the test on error.
func get(t testing.TB, b backend.Backend, name string, offset, length int64) []byte {
	t.Helper()
	data, err := read(context.Background(), b, name, offset, length)
	if err != nil {
		t.Fatalf("Get(%q, %d, %d): %v", name, offset, length, err)
	}
	return data
}

// read reads a range of name into memory and closes the reader.
func read(ctx context.Context, b backend.Backend, name string, offset, length int64) ([]byte, error) {
	rc, err := b.Get(ctx, name, offset, length)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(rc)
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	return data, err
}

// wantEqual compares object contents without printing megabytes.
func wantEqual(t testing.TB, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Errorf("%s: got %d bytes, want %d bytes (contents differ: %v)", what, len(got), len(want), len(got) == len(want))
	}
}

// wantNotFound checks that err is ErrNotFound and names the object.
func wantNotFound(t testing.TB, what string, err error, name string) {
	t.Helper()
	if !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("%s: got error %v, want ErrNotFound", what, err)
		return
	}
	if !strings.Contains(err.Error(), name) {
		t.Errorf("%s: error %q does not name the object %q", what, err, name)
	}
}

func testLocation(t *testing.T, b backend.Backend) {
	if b.Location() == "" {
		t.Error("Location() is empty")
	}
}

func testRoundTrip(t *testing.T, b backend.Backend) {
	for i, size := range []int{0, 1, 1000, 5<<20 + 3} {
		name := "data/rt/object-" + string(rune('a'+i))
		data := randomData(uint64(i), size)
		put(t, b, name, data)
		wantEqual(t, name, get(t, b, name, 0, 0), data)
		info, err := b.Stat(context.Background(), name)
		if err != nil {
			t.Fatalf("Stat(%q): %v", name, err)
		}
		if info.Size != int64(size) || info.Name != name {
			t.Errorf("Stat(%q) = %q, %d bytes; want %q, %d bytes", name, info.Name, info.Size, name, size)
		}
	}
}

func testStat(t *testing.T, b backend.Backend) {
	before := time.Now()
	put(t, b, "keys/k1", []byte("hello"))
	info, err := b.Stat(context.Background(), "keys/k1")
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	if info.Name != "keys/k1" || info.Size != 5 {
		t.Errorf("Stat = %q, %d bytes; want keys/k1, 5 bytes", info.Name, info.Size)
	}
	// Servers keep their own clocks and round to seconds: allow slack.
	if d := info.ModTime.Sub(before); d < -time.Hour || d > time.Hour {
		t.Errorf("ModTime %v is %v away from the time of the Put", info.ModTime, d)
	}
}

func testMissing(t *testing.T, b backend.Backend) {
	ctx := context.Background()
	put(t, b, "data/present", []byte("x"))
	const name = "data/absent"
	_, err := b.Stat(ctx, name)
	wantNotFound(t, "Stat", err, name)
	_, err = read(ctx, b, name, 0, 0)
	wantNotFound(t, "Get", err, name)
	_, err = read(ctx, b, name, 10, 5)
	wantNotFound(t, "ranged Get", err, name)
	_, err = b.Stat(ctx, "data")
	wantNotFound(t, "Stat of a name that is only a prefix", err, "data")
}
