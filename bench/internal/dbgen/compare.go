package dbgen

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Fingerprint is a table's row count and a sum of its rows' hashes: two
// tables with the same rows have the same fingerprint, whatever their order.
type Fingerprint struct {
	Rows int64
	Hash int64
}

// Fingerprints reads the fingerprint of every table Generate creates.
func Fingerprints(ctx context.Context, dsn string) (map[string]Fingerprint, error) {
	conn, err := connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	out := map[string]Fingerprint{}
	for _, t := range tables {
		var f Fingerprint
		q := "SELECT count(*), coalesce(sum(hashtext(t::text)::bigint), 0)::bigint FROM " + pgx.Identifier{t.name}.Sanitize() + " t"
		if err := conn.QueryRow(ctx, q).Scan(&f.Rows, &f.Hash); err != nil {
			return nil, fmt.Errorf("dbgen: fingerprint %s: %w", t.name, err)
		}
		out[t.name] = f
	}
	return out, nil
}

// Compare describes how the tables of b differ from a's; "" when they are
// the same.
func Compare(a, b map[string]Fingerprint) string {
	for _, name := range TableNames() {
		fa, fb := a[name], b[name]
		switch {
		case fa.Rows != fb.Rows:
			return fmt.Sprintf("table %s has %d rows, want %d", name, fb.Rows, fa.Rows)
		case fa.Hash != fb.Hash:
			return fmt.Sprintf("table %s has the same %d rows but different contents", name, fa.Rows)
		}
	}
	return ""
}
