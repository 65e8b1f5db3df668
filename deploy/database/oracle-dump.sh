#!/bin/sh
# bbvault --db-dump-cmd for Oracle: original export (exp) of Bitbucket's schema to standard
# output, consistent as of one SCN.
#
#   bbvault snapshot ... --db-dump-cmd /etc/bbvault/oracle-dump.sh --db-dump-ready '^bbvault-ready'
#
# It reads the database's SCN first and prints "bbvault-ready scn=N" on stderr: the export
# reads the schema as of that SCN (FLASHBACK_SCN), so from then on Bitbucket may be unlocked
# while the export streams. exp writes into a named pipe that this script copies to stdout
# (exp cannot write to stdout itself); no dump file touches the disk.
#
# Settings (environment; the defaults suit /etc/bbvault):
#   ORACLE_CONNECT_FILE  file (mode 0600) holding USER/PASSWORD@SERVICE; the password reaches
#                        sqlplus on its standard input and exp in a parameter file (0600),
#                        never on a command line
#   ORACLE_SCHEMA        the schema (owner) Bitbucket's tables live in, e.g. BITBUCKET
#   ORACLE_HOME, PATH    as the Oracle client needs them (sqlplus and exp on PATH)
set -eu

connect_file=${ORACLE_CONNECT_FILE:-/etc/bbvault/oracle-connect}
schema=${ORACLE_SCHEMA:?set ORACLE_SCHEMA to the schema holding the Bitbucket tables}
connect=$(cat "$connect_file")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
umask 077

# The SCN every table is read at.
scn=$(printf 'connect %s\nset heading off feedback off pagesize 0 verify off\nselect current_scn from v$database;\nexit\n' "$connect" |
	sqlplus -s /nolog | tr -d ' \r' | grep -E '^[0-9]+$' | head -n 1) || true
if [ -z "$scn" ]; then
	echo "oracle-dump: could not read current_scn from v\$database (check $connect_file and the grant on v\$database)" >&2
	exit 1
fi

mkfifo "$work/pipe"
cat >"$work/parfile" <<PARFILE
userid=$connect
owner=$schema
file=$work/pipe
log=$work/exp.log
flashback_scn=$scn
statistics=none
PARFILE

echo "bbvault-ready scn=$scn" >&2
exp parfile="$work/parfile" >&2 &
exp_pid=$!
cat "$work/pipe"
status=0
wait "$exp_pid" || status=$?
if [ "$status" -ne 0 ] || ! grep -q 'Export terminated successfully' "$work/exp.log"; then
	echo "oracle-dump: exp failed (exit $status):" >&2
	tail -n 20 "$work/exp.log" >&2 || true
	exit 1
fi
