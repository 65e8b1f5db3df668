package index

import (
	"context"
	"reflect"
	"testing"

	"bbvault/internal/blob"
)

// TestLookupManyAgreesWithLookup: a batch answers for each blob, in order,
// what Lookup answers for it alone: every copy, or nothing for a blob no
// index lists.
func TestLookupManyAgreesWithLookup(t *testing.T) {
	d := tempDB(t)
	a, b, c := idOf("a"), idOf("b"), idOf("c")
	mustAdd(t, d, "idx-1", makePack("1", blob.Data, a, b))
	mustAdd(t, d, "idx-2", makePack("2", blob.Data, b, c)) // b stored twice
	ids := []blob.ID{c, idOf("never stored"), b, a, b}
	var got [][]Location
	err := d.LookupMany(context.Background(), ids, func(i int, locs []Location) error {
		if i != len(got) {
			t.Errorf("answer for index %d came after %d answers", i, len(got))
		}
		got = append(got, locs)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		if want := mustLookup(t, d, id); !reflect.DeepEqual(got[i], want) {
			t.Errorf("LookupMany for %s = %+v, Lookup says %+v", id.Short(), got[i], want)
		}
	}
	if len(got[2]) != 2 || len(got[1]) != 0 {
		t.Errorf("b has %d locations (want 2), the unknown blob %d (want 0)", len(got[2]), len(got[1]))
	}
}
