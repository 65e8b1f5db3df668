package index

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// A transaction that SQLite refuses with SQLITE_BUSY without waiting (as it
// does where waiting could deadlock; here a connection with no busy
// timeout) is tried again until the lock goes, within the busy timeout.
func TestRetryBusyWaitsOutALockSQLiteWouldNotWaitFor(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "busy.db")
	holder := openRaw(t, path+"?_pragma=journal_mode(WAL)&_txlock=immediate")
	impatient := openRaw(t, path+"?_pragma=busy_timeout(0)&_txlock=immediate")
	if _, err := holder.ExecContext(ctx, "CREATE TABLE t (x)"); err != nil {
		t.Fatal(err)
	}
	lock, err := holder.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	insert := func() error {
		tx, err := impatient.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO t VALUES (1)"); err != nil {
			return errors.Join(err, tx.Rollback())
		}
		return tx.Commit()
	}
	if err := insert(); !isBusy(err) {
		t.Fatalf("a write beside a held write lock: %v, want SQLITE_BUSY at once", err)
	}
	released := time.AfterFunc(100*time.Millisecond, func() { lock.Rollback() }) //nolint:errcheck // test
	defer released.Stop()
	if err := retryBusy(ctx, insert); err != nil {
		t.Fatalf("retryBusy: %v, want the write to go through once the lock went", err)
	}
}

func openRaw(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}
