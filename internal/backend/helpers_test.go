package backend_test

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"bbvault/internal/backend"
)

func TestExactReader(t *testing.T) {
	cases := []struct {
		data    string
		size    int64
		wantErr bool
	}{
		{"", 0, false},
		{"abc", 3, false},
		{"abc", 2, true},
		{"abc", 4, true},
		{"x", 0, true},
		{"", 1, true},
	}
	for _, c := range cases {
		got, err := io.ReadAll(backend.ExactReader(strings.NewReader(c.data), c.size))
		if c.wantErr != (err != nil) || (err != nil && !errors.Is(err, backend.ErrSize)) {
			t.Errorf("%d bytes as %d: got %v, want error %v (ErrSize)", len(c.data), c.size, err, c.wantErr)
		}
		if err != nil && !backend.IsPermanent(err) {
			t.Errorf("%d bytes as %d: a size mismatch must be permanent", len(c.data), c.size)
		}
		if c.wantErr && c.size > 0 && int64(len(got)) >= c.size {
			t.Errorf("%d bytes as %d: all %d declared bytes were handed out before the error", len(c.data), c.size, c.size)
		}
	}
}

func TestExactReaderPassesReadErrors(t *testing.T) {
	boom := errors.New("disk read failed")
	r := backend.ExactReader(io.MultiReader(strings.NewReader("ab"), errReader{boom}), 5)
	if _, err := io.ReadAll(r); !errors.Is(err, boom) || backend.IsPermanent(err) {
		t.Errorf("got %v, want the reader's own error, not marked permanent", err)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func TestPermanent(t *testing.T) {
	if backend.Permanent(nil) != nil {
		t.Error("Permanent(nil) is not nil")
	}
	err := fmt.Errorf("stat config: %w", backend.Permanent(fmt.Errorf("bucket: %w", backend.ErrPermission)))
	if !backend.IsPermanent(err) || !errors.Is(err, backend.ErrPermission) {
		t.Errorf("wrapped permanent error lost its marks: permanent %v, ErrPermission %v", backend.IsPermanent(err), errors.Is(err, backend.ErrPermission))
	}
	if err.Error() != "stat config: bucket: permission denied" {
		t.Errorf("Permanent changed the message: %q", err)
	}
	if backend.IsPermanent(errors.New("timeout")) {
		t.Error("a plain error counts as permanent")
	}
}

func TestCheckName(t *testing.T) {
	for _, name := range []string{"config", "data/ab/cdef", "keys/k.1"} {
		if err := backend.CheckName(name); err != nil {
			t.Errorf("CheckName(%q): %v", name, err)
		}
	}
	for _, name := range []string{"", ".", "..", "/a", "a/", "a//b", "a/./b", "a/../b"} {
		if err := backend.CheckName(name); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%q", name)) {
			t.Errorf("CheckName(%q): got %v, want an error quoting the name", name, err)
		}
	}
}
