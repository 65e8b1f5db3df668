package dbstream

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"bbvault/test/testenv"
)

// BenchmarkLockWindowShare measures what the database adds to the lock
// window, on databases of 20, 200 (Bitbucket's order) and 1,000 tables. It
// reports, counted from the call to Start: export-ms, until the snapshot is
// exported (releasing the lock there is the fast option, safe only if no DDL
// lands before pg_dump's locks); start-ms, until pg_dump runs; ready-ms,
// until pg_dump holds its table locks (Ready polls every 15 ms), where the
// lock is released with --db-unlock-at locks; check-ms, how long CheckSchema
// takes after Ready. The guard=true runs record the catalog fingerprint in
// Start (DumpOptions.SchemaGuard), which the default --db-unlock-at export
// needs: their start-ms is the database's share of the lock window. Run with
//
//	go test ./internal/dbstream -run '^$' -bench LockWindowShare -benchtime 10x
func BenchmarkLockWindowShare(b *testing.B) {
	pg := testenv.Postgres(b)
	for _, n := range []int{20, 200, 1000} {
		db := pg.NewDB(b)
		execSQL(b, pg.DSN(db), manyTables(n))
		src := newSource(b, pg, db)
		if _, err := src.Check(testCtx(b)); err != nil {
			b.Fatal(err)
		}
		for _, guard := range []bool{false, true} {
			b.Run(fmt.Sprintf("tables=%d/guard=%v", n, guard), func(b *testing.B) { benchWindowShare(b, src, guard) })
		}
	}
}

func benchWindowShare(b *testing.B, src *Source, guard bool) {
	var export, start, ready, check time.Duration
	for b.Loop() {
		t0 := time.Now()
		d, err := src.Start(testCtx(b), DumpOptions{SchemaGuard: guard})
		if err != nil {
			b.Fatal(err)
		}
		started := time.Since(t0)
		if err := d.Ready(testCtx(b)); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if guard {
			if err := d.CheckSchema(testCtx(b)); err != nil {
				b.Fatal(err)
			}
		}
		check += time.Since(t1)
		export, start, ready = export+d.Exported().Sub(t0), start+started, ready+d.ReadyAt().Sub(t0)
		d.Close()
	}
	per := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(b.N) / 1000 }
	b.ReportMetric(per(export), "export-ms/op")
	b.ReportMetric(per(start), "start-ms/op")
	b.ReportMetric(per(ready), "ready-ms/op")
	if guard {
		b.ReportMetric(per(check), "check-ms/op")
	}
}

// manyTables is SQL for n tables shaped like Bitbucket's: a serial key, two
// indexes, a few rows.
func manyTables(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `CREATE TABLE sta_t%d (id bigserial PRIMARY KEY, project_id int, name text, created timestamptz);
CREATE INDEX sta_t%d_project ON sta_t%d (project_id);
INSERT INTO sta_t%d (project_id, name, created) SELECT g %% 10, md5(g::text), now() FROM generate_series(1, 50) g;
`, i, i, i, i)
	}
	return b.String()
}
