package dbgen

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// batchRows is how many rows one INSERT ... SELECT writes.
const batchRows = 250_000

// Options say which database to fill and how much.
type Options struct {
	// DSN names the database; a password is best given in PGPASSWORD.
	DSN string
	// Bytes is the approximate size of the table data (default 16 MiB).
	Bytes int64
	// Logger receives progress records; nil discards them.
	Logger *slog.Logger
}

// Summary says what a database holds.
type Summary struct {
	Rows  map[string]int64 `json:"rows"`
	Bytes int64            `json:"bytes"` // pg_database_size, indexes included
	Took  time.Duration    `json:"took_ns"`
}

func (o Options) withDefaults() Options {
	if o.Bytes == 0 {
		o.Bytes = 16 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Generate creates the tables in an empty database and fills them.
func Generate(ctx context.Context, o Options) (Summary, error) {
	o = o.withDefaults()
	start := time.Now()
	conn, err := connect(ctx, o.DSN)
	if err != nil {
		return Summary{}, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := checkNoTables(ctx, conn); err != nil {
		return Summary{}, err
	}
	if _, err := conn.Exec(ctx, schema); err != nil {
		return Summary{}, fmt.Errorf("dbgen: create tables: %w", err)
	}
	counts := rowCounts(o.Bytes)
	for _, t := range tables {
		if err := load(ctx, conn, t, 1, counts[t.name], counts); err != nil {
			return Summary{}, err
		}
		o.Logger.Debug("table loaded", "table", t.name, "rows", counts[t.name])
	}
	if _, err := conn.Exec(ctx, indexes+"\nANALYZE;"); err != nil {
		return Summary{}, fmt.Errorf("dbgen: create indexes: %w", err)
	}
	size, err := databaseSize(ctx, conn)
	s := Summary{Rows: counts, Bytes: size, Took: time.Since(start)}
	o.Logger.Info("database generated", "bytes", size, "took", s.Took)
	return s, err
}

func connect(ctx context.Context, dsn string) (*pgx.Conn, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("dbgen: connect: %w", err)
	}
	return conn, nil
}

// checkNoTables refuses a database that already has tables of its own.
func checkNoTables(ctx context.Context, conn *pgx.Conn) error {
	var n int
	err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&n)
	if err != nil {
		return fmt.Errorf("dbgen: %w", err)
	}
	if n > 0 {
		return errors.New("dbgen: the database already has tables: fill a new, empty database")
	}
	return nil
}

// rowCounts scales every table to a database of about bytes.
func rowCounts(bytes int64) map[string]int64 {
	mib := float64(bytes) / (1 << 20)
	counts := map[string]int64{}
	for _, t := range tables {
		counts[t.name] = max(t.min, int64(t.perMiB*mib))
	}
	return counts
}

// load inserts rows first..last of t in batches.
func load(ctx context.Context, conn *pgx.Conn, t table, first, last int64, counts map[string]int64) error {
	sel := expand(t.sel, counts)
	for lo := first; lo <= last; lo += batchRows {
		hi := min(last, lo+batchRows-1)
		sql := "INSERT INTO " + t.name + " SELECT " + sel + " FROM generate_series($1::bigint, $2::bigint) AS i"
		if _, err := conn.Exec(ctx, sql, lo, hi); err != nil {
			return fmt.Errorf("dbgen: load %s rows %d-%d: %w", t.name, lo, hi, err)
		}
	}
	return nil
}

// expand replaces "$table" with that table's row count.
func expand(sel string, counts map[string]int64) string {
	var pairs []string
	for _, t := range tables {
		pairs = append(pairs, "$"+t.name, strconv.FormatInt(max(1, counts[t.name]), 10))
	}
	return strings.NewReplacer(pairs...).Replace(sel)
}

func databaseSize(ctx context.Context, conn *pgx.Conn) (int64, error) {
	var size int64
	if err := conn.QueryRow(ctx, "SELECT pg_database_size(current_database())").Scan(&size); err != nil {
		return 0, fmt.Errorf("dbgen: database size: %w", err)
	}
	return size, nil
}

// TableNames lists the tables Generate creates.
func TableNames() []string {
	names := make([]string, len(tables))
	for i, t := range tables {
		names[i] = t.name
	}
	return names
}
