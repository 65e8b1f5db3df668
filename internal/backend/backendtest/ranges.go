package backendtest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"bbvault/internal/backend"
)

type rangeCase struct {
	offset, length int64
	from, to       int   // expected slice of the object
	wantErr        error // expected error instead of data
}

func testRangedGet(t *testing.T, b backend.Backend) {
	const size = 1000
	data := randomData(7, size)
	put(t, b, "data/ranged", data)
	cases := []rangeCase{
		{offset: 0, length: 10, from: 0, to: 10},
		{offset: 10, length: 0, from: 10, to: size},
		{offset: 500, length: 1, from: 500, to: 501},
		{offset: 0, length: size, from: 0, to: size},
		{offset: 0, length: -1, from: 0, to: size},
		{offset: 990, length: 100, from: 990, to: size},
		{offset: size - 1, length: 0, from: size - 1, to: size},
		{offset: size, length: 0, from: size, to: size},
		{offset: size, length: 5, from: size, to: size},
		{offset: size + 1, length: 0, wantErr: backend.ErrInvalidRange},
		{offset: size + 100, length: 10, wantErr: backend.ErrInvalidRange},
	}
	checkRanges(t, b, "data/ranged", data, cases)
	if _, err := read(context.Background(), b, "data/ranged", -1, 10); err == nil {
		t.Error("Get with offset -1: no error")
	}
}

func testRangedGetEmpty(t *testing.T, b backend.Backend) {
	put(t, b, "data/empty", nil)
	cases := []rangeCase{
		{offset: 0, length: 0},
		{offset: 0, length: 5},
		{offset: 1, length: 0, wantErr: backend.ErrInvalidRange},
		{offset: 3, length: 2, wantErr: backend.ErrInvalidRange},
	}
	checkRanges(t, b, "data/empty", nil, cases)
}

func checkRanges(t *testing.T, b backend.Backend, name string, data []byte, cases []rangeCase) {
	t.Helper()
	for _, c := range cases {
		what := fmt.Sprintf("Get(%q, offset %d, length %d)", name, c.offset, c.length)
		got, err := read(context.Background(), b, name, c.offset, c.length)
		switch {
		case c.wantErr != nil && !errors.Is(err, c.wantErr):
			t.Errorf("%s: got error %v, want %v", what, err, c.wantErr)
		case c.wantErr != nil && errors.Is(err, backend.ErrNotFound):
			t.Errorf("%s: an invalid range must not look like a missing object: %v", what, err)
		case c.wantErr == nil && err != nil:
			t.Errorf("%s: %v", what, err)
		case c.wantErr == nil:
			wantEqual(t, what, got, data[c.from:c.to])
		}
	}
}
