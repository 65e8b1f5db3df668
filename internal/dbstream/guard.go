package dbstream

import (
	"context"
	"errors"
	"fmt"
)

// ErrSchemaChanged means that DDL (or a TRUNCATE, or a table rewrite)
// committed between the export of a dump's snapshot and the check after
// pg_dump took its table locks: the dump may hold tables emptied or shaped
// differently from the snapshot, so it must not be kept.
var ErrSchemaChanged = errors.New("the database schema changed between the snapshot and pg_dump's table locks")

// catalogFingerprint hashes the identity (OID) and row version (xmin) of
// every catalog row that describes an object in user schemas: schemas,
// relations, their columns, defaults, indexes, constraints, triggers and
// rules, functions and types. Any committed DDL, and the TRUNCATEs and
// rewrites that give a table a new file, update or add such a row, so the
// hash changes; row DML, VACUUM and ANALYZE (which update pg_class in
// place) do not. Run inside the exporting transaction it describes the
// snapshot; in a fresh one, the database as it is.
const catalogFingerprint = `
WITH ns AS (SELECT oid, xmin FROM pg_namespace n WHERE ` + userRelationFilter + `),
rel AS (SELECT c.oid, c.xmin FROM pg_class c WHERE c.relnamespace IN (SELECT oid FROM ns))
SELECT coalesce(md5(string_agg(k, ',' ORDER BY k)), ''), count(*) FROM (
	SELECT 'n' || oid || ':' || xmin FROM ns
	UNION ALL SELECT 'c' || oid || ':' || xmin FROM rel
	UNION ALL SELECT 'a' || attrelid || '.' || attnum || ':' || a.xmin FROM pg_attribute a
		WHERE attnum > 0 AND attrelid IN (SELECT oid FROM rel)
	UNION ALL SELECT 'd' || d.oid || ':' || d.xmin FROM pg_attrdef d WHERE adrelid IN (SELECT oid FROM rel)
	UNION ALL SELECT 'i' || indexrelid || ':' || i.xmin FROM pg_index i WHERE indrelid IN (SELECT oid FROM rel)
	UNION ALL SELECT 'k' || co.oid || ':' || co.xmin FROM pg_constraint co WHERE connamespace IN (SELECT oid FROM ns)
	UNION ALL SELECT 't' || tg.oid || ':' || tg.xmin FROM pg_trigger tg WHERE tgrelid IN (SELECT oid FROM rel)
	UNION ALL SELECT 'r' || rw.oid || ':' || rw.xmin FROM pg_rewrite rw WHERE ev_class IN (SELECT oid FROM rel)
	UNION ALL SELECT 'p' || p.oid || ':' || p.xmin FROM pg_proc p WHERE pronamespace IN (SELECT oid FROM ns)
	UNION ALL SELECT 'y' || ty.oid || ':' || ty.xmin FROM pg_type ty WHERE typnamespace IN (SELECT oid FROM ns)
) f(k)`

// catalogPrint is a catalog fingerprint and the number of rows it covers.
type catalogPrint struct {
	hash string
	rows int64
}

func readFingerprint(ctx context.Context, q queryRower) (catalogPrint, error) {
	var f catalogPrint
	if err := q.QueryRow(ctx, catalogFingerprint).Scan(&f.hash, &f.rows); err != nil {
		return f, fmt.Errorf("reading the catalog fingerprint: %w", err)
	}
	return f, nil
}

// CheckSchema proves that no DDL committed between the export of the dump's
// snapshot and now: it compares the catalog fingerprint recorded in the
// exporting transaction (DumpOptions.SchemaGuard) with the database's
// current one. Called once Ready returned, it makes releasing the database
// at the export safe: from Ready on, pg_dump's table locks keep out the DDL
// that could change what it dumps. A difference is ErrSchemaChanged.
func (d *Dump) CheckSchema(ctx context.Context) error {
	if d.catalogDone == nil {
		return errors.New("dbstream: CheckSchema needs a dump started with SchemaGuard")
	}
	select {
	case <-d.catalogDone:
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	if d.catalogErr != nil {
		return fmt.Errorf("at the snapshot: %w", d.catalogErr)
	}
	conn, err := d.ep.connect(ctx, "", "bbvault-schema-check")
	if err != nil {
		return fmt.Errorf("checking the schema: %w", err)
	}
	defer closeConn(conn)
	now, err := readFingerprint(ctx, conn)
	if err != nil {
		return err
	}
	if now != d.snapshotCatalog {
		return fmt.Errorf("%w: %d catalog rows describe the dumped objects now, %d did at the snapshot, and they differ "+
			"(DDL, a TRUNCATE or a table rewrite committed in between: an upgrade, a plugin installed)",
			ErrSchemaChanged, now.rows, d.snapshotCatalog.rows)
	}
	d.logger.Debug("schema unchanged since the snapshot", "catalog_rows", now.rows)
	return nil
}
