#!/bin/sh
# bbvault --db-restore-cmd for Oracle: import (imp) a dump made by oracle-dump.sh from
# standard input into a new, empty schema.
#
#   bbvault restore latest --target DIR --db-restore-cmd /etc/bbvault/oracle-restore.sh
#
# imp reads a named pipe this script fills from stdin; no dump file touches the disk. It
# refuses a target schema that already holds tables: restore never overwrites.
#
# Settings (environment):
#   ORACLE_CONNECT_FILE  file (mode 0600) holding USER/PASSWORD@SERVICE of the new database
#   ORACLE_FROM_SCHEMA   the schema the dump was taken from, e.g. BITBUCKET
#   ORACLE_TO_SCHEMA     the schema to import into (default: the same)
set -eu

connect_file=${ORACLE_CONNECT_FILE:-/etc/bbvault/oracle-connect}
from=${ORACLE_FROM_SCHEMA:?set ORACLE_FROM_SCHEMA to the schema the dump was taken from}
to=${ORACLE_TO_SCHEMA:-$from}
connect=$(cat "$connect_file")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
umask 077

tables=$(printf "connect %s\nset heading off feedback off pagesize 0 verify off\nselect count(*) from all_tables where owner = upper('%s');\nexit\n" "$connect" "$to" |
	sqlplus -s /nolog | tr -d ' \r' | grep -E '^[0-9]+$' | head -n 1) || true
if [ "$tables" != "0" ]; then
	echo "oracle-restore: schema $to holds ${tables:-an unknown number of} tables: restore into an empty schema" >&2
	exit 1
fi

mkfifo "$work/pipe"
cat >"$work/parfile" <<PARFILE
userid=$connect
fromuser=$from
touser=$to
file=$work/pipe
log=$work/imp.log
PARFILE

imp parfile="$work/parfile" >&2 &
imp_pid=$!
cat >"$work/pipe"
status=0
wait "$imp_pid" || status=$?
if [ "$status" -ne 0 ] || ! grep -q 'Import terminated successfully' "$work/imp.log"; then
	echo "oracle-restore: imp failed (exit $status):" >&2
	tail -n 20 "$work/imp.log" >&2 || true
	exit 1
fi
