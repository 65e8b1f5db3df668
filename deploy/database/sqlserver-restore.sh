#!/bin/sh
# bbvault --db-restore-cmd for Microsoft SQL Server: restore a backup made by
# sqlserver-dump.sh, read from standard input, as a new database.
#
#   bbvault restore latest --target DIR --db-restore-cmd /etc/bbvault/sqlserver-restore.sh
#
# The backup is written to the shared directory (SQL Server restores from its own side), then
# RESTORE DATABASE runs without REPLACE and after checking that no database of that name
# exists: restore never overwrites. The file is removed at the end.
#
# Settings: as sqlserver-dump.sh (MSSQL_DATABASE is the new database's name), plus
#   MSSQL_DATA_DIR        where the server puts the new data and log files, e.g. /var/opt/mssql/data
#   MSSQL_DATA_NAME, MSSQL_LOG_NAME  the logical file names in the backup (RESTORE FILELISTONLY
#                         shows them; default bitbucket and bitbucket_log)
set -eu

db=${MSSQL_DATABASE:?set MSSQL_DATABASE}
server_dir=${MSSQL_SERVER_DIR:?set MSSQL_SERVER_DIR}
local_dir=${MSSQL_LOCAL_DIR:?set MSSQL_LOCAL_DIR}
data_dir=${MSSQL_DATA_DIR:?set MSSQL_DATA_DIR}
data_name=${MSSQL_DATA_NAME:-bitbucket}
log_name=${MSSQL_LOG_NAME:-bitbucket_log}
name="bbvault-restore-$$.bak"

set -- -b -S "${MSSQL_SERVER:?set MSSQL_SERVER}"
if [ -n "${MSSQL_USER:-}" ]; then
	SQLCMDPASSWORD=$(cat "${MSSQL_PASSWORD_FILE:-/etc/bbvault/mssql-password}")
	export SQLCMDPASSWORD
	set -- "$@" -U "$MSSQL_USER"
fi

trap 'rm -f "$local_dir/$name"' EXIT
sqlcmd "$@" -Q "IF DB_ID(N'$db') IS NOT NULL RAISERROR(N'database $db exists: restore into a new database', 16, 1)" >&2
umask 077
cat >"$local_dir/$name"
sqlcmd "$@" -Q "RESTORE DATABASE [$db] FROM DISK = N'$server_dir/$name' WITH CHECKSUM, MOVE N'$data_name' TO N'$data_dir/$db.mdf', MOVE N'$log_name' TO N'$data_dir/${db}_log.ldf'" >&2
