package dbstream

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"bbvault/test/testenv"
)

// benchRowBytes is roughly what one row of the benchmark table adds to the
// dump.
const benchRowBytes = 280

// BenchmarkDumpThroughput compares a dump streamed through Dump.Read with
// pg_dump -Fc -Z0 writing straight to /dev/null, on a database of
// BBVAULT_BENCH_DB_MB megabytes (default 300). Run with
//
//	go test ./internal/dbstream -run '^$' -bench DumpThroughput -benchtime 3x
func BenchmarkDumpThroughput(b *testing.B) {
	pg := testenv.Postgres(b)
	db := pg.NewDB(b)
	mb := 300
	if s := os.Getenv("BBVAULT_BENCH_DB_MB"); s != "" {
		var err error
		if mb, err = strconv.Atoi(s); err != nil {
			b.Fatalf("BBVAULT_BENCH_DB_MB=%q: %v", s, err)
		}
	}
	rows := mb << 20 / benchRowBytes
	execSQL(b, pg.DSN(db), `CREATE TABLE sta_activity_big (id bigint PRIMARY KEY, user_id int, kind int,
		created timestamptz, body text);
		INSERT INTO sta_activity_big SELECT g, g % 5000, g % 7, timestamptz '2020-01-01' + g * interval '1 second',
		  md5(g::text) || repeat(' lorem ipsum dolor sit amet', 7) || md5((g * 7)::text)
		FROM generate_series(1, `+strconv.Itoa(rows)+`) g`)
	execSQL(b, pg.DSN(db), "VACUUM ANALYZE sta_activity_big")
	size := benchDump(b, newSource(b, pg, db)) // warms the cache, sizes the dump
	b.Logf("database of ~%d MB, dump of %.1f MB", mb, float64(size)/1e6)

	b.Run("dbstream-read", func(b *testing.B) {
		b.SetBytes(size)
		src := newSource(b, pg, db)
		for b.Loop() {
			benchDump(b, src)
		}
	})
	b.Run("pg_dump-devnull", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			plainPgDump(b, pg, db)
		}
	})
}

// benchDump streams one dump into io.Discard with 1 MiB reads and returns
// its size.
func benchDump(b testing.TB, src *Source) int64 {
	d, err := src.Start(testCtx(b), DumpOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	discard := struct{ io.Writer }{io.Discard} // no ReaderFrom: keep the 1 MiB buffer
	if _, err := io.CopyBuffer(discard, d, make([]byte, 1<<20)); err != nil {
		b.Fatal(err)
	}
	return d.Size()
}

// plainPgDump runs `pg_dump -Fc -Z0 > /dev/null`.
func plainPgDump(b testing.TB, pg *testenv.PGServer, db string) {
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer null.Close()
	cmd := exec.CommandContext(testCtx(b), filepath.Join(pg.BinDir, "pg_dump"), "-Fc", "-Z0", "--no-password",
		"--host="+pg.Host, "--port="+strconv.Itoa(pg.Port), "--username="+pg.User, "--dbname="+quoteConninfoDB(db))
	cmd.Env = append(os.Environ(), "PGPASSWORD="+pg.Password)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = null, &stderr
	if err := cmd.Run(); err != nil {
		b.Fatalf("pg_dump: %v: %s", err, stderr.Bytes())
	}
}
