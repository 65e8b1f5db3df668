package flow

import (
	"strconv"
	"strings"
	"time"

	"bbvault/internal/dbstream"
)

// Keys of the database stream's Meta that record its row counts: one
// "rows:<schema.table>" per table, and "row_counts" (how many tables were
// counted) to tell a database of no tables from a dump that counted none.
const (
	metaRowPrefix   = "rows:"
	metaRowCounts   = "row_counts"
	metaRowCountsMs = "row_count_ms"
)

// putRowCounts records the rows of every table, counted in the dump's own
// snapshot, and how long the counting took.
func putRowCounts(meta map[string]string, rows map[string]int64, took time.Duration) {
	for table, n := range rows {
		meta[metaRowPrefix+table] = strconv.FormatInt(n, 10)
	}
	meta[metaRowCounts] = strconv.Itoa(len(rows))
	meta[metaRowCountsMs] = strconv.FormatInt(took.Milliseconds(), 10)
}

// RecordedRows are the rows per table a snapshot's dump held, as counted at
// dump time; ok is false for a dump that recorded none (made before bbvault
// counted them, or the counting failed).
func RecordedRows(dump map[string]string) (rows map[string]int64, ok bool) {
	if _, counted := dump[metaRowCounts]; !counted {
		return nil, false
	}
	rows = map[string]int64{}
	for k, v := range dump {
		table, isRow := strings.CutPrefix(k, metaRowPrefix)
		if !isRow {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, false
		}
		rows[table] = n
	}
	return rows, true
}

// SourceDatabase is where a snapshot's dump was taken, as the manifest
// records it: the database name always, host and port since bbvault
// records them (empty and 0 before).
func SourceDatabase(dump map[string]string) dbstream.Address {
	port, _ := strconv.ParseUint(dump["port"], 10, 16)
	return dbstream.Address{Host: dump["host"], Port: uint16(port), Database: dump["database"]}
}
