package dbstream

import (
	"errors"
	"io"
	"testing"

	"bbvault/test/testenv"
)

// Writes, VACUUM and ANALYZE between the snapshot and the check are what a
// live Bitbucket does after the unlock: the guard lets them pass.
func TestSchemaGuardPassesRowChanges(t *testing.T) {
	pg := testenv.Postgres(t)
	src := bitbucketDB(t, pg)
	ctx := testCtx(t)
	d, err := newSource(t, pg, src).Start(ctx, DumpOptions{SchemaGuard: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	execSQL(t, pg.DSN(src), `
		INSERT INTO sta_activity (id, pr_id, user_id, activity_type) VALUES (900001, 1, 1, 1);
		UPDATE repository SET name = 'renamed' WHERE id = 150;
		DELETE FROM sta_activity WHERE id <= 100;
		SELECT setval('repository_id_seq', 5000);`)
	execSQL(t, pg.DSN(src), `VACUUM sta_activity`)
	execSQL(t, pg.DSN(src), `ANALYZE`)
	if err := d.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d.CheckSchema(ctx); err != nil {
		t.Fatalf("CheckSchema after row changes, VACUUM and ANALYZE: %v", err)
	}
	if _, err := io.Copy(io.Discard, d); err != nil {
		t.Fatal(err)
	}
}

// DDL that commits after the export but before pg_dump's locks (held back
// here by a lock taken first, as an upgrade's would be) is caught: a TRUNCATE
// would otherwise leave the table empty in the dump, a new column would make
// it differ from the snapshot.
func TestSchemaGuardCatchesDDLBeforeTheLocks(t *testing.T) {
	for name, ddl := range map[string]string{
		"truncate":   `TRUNCATE sta_activity`,
		"add column": `ALTER TABLE sta_activity ADD COLUMN late text`,
		"drop index": `DROP INDEX idx_sta_pr_repo_state`,
	} {
		t.Run(name, func(t *testing.T) {
			pg := testenv.Postgres(t)
			src := bitbucketDB(t, pg)
			ctx := testCtx(t)
			upgrade, err := connect(t, pg.DSN(src)).Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer upgrade.Rollback(ctx)
			if _, err := upgrade.Exec(ctx, `LOCK TABLE sta_activity, sta_pull_request IN ACCESS EXCLUSIVE MODE`); err != nil {
				t.Fatal(err)
			}
			d, err := newSource(t, pg, src).Start(ctx, DumpOptions{SchemaGuard: true})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if _, err := upgrade.Exec(ctx, ddl); err != nil {
				t.Fatal(err)
			}
			if err := upgrade.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			if err := d.Ready(ctx); err != nil {
				t.Fatal(err)
			}
			if err := d.CheckSchema(ctx); !errors.Is(err, ErrSchemaChanged) {
				t.Fatalf("CheckSchema after %q: %v, want ErrSchemaChanged", ddl, err)
			}
		})
	}
}

func TestCheckSchemaNeedsTheGuard(t *testing.T) {
	pg := testenv.Postgres(t)
	src := pg.NewDB(t)
	d, err := newSource(t, pg, src).Start(testCtx(t), DumpOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.CheckSchema(testCtx(t)); err == nil {
		t.Fatal("CheckSchema without a recorded fingerprint passed")
	}
}
