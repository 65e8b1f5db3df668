#!/bin/sh
# bbvault --db-dump-cmd for Microsoft SQL Server: a copy-only full backup of Bitbucket's
# database, streamed to standard output.
#
#   bbvault snapshot ... --db-dump-cmd /etc/bbvault/sqlserver-dump.sh --db-dump-ready '^bbvault-ready'
#
# SQL Server writes backups on its own side, so the backup goes to a directory that the server
# writes and this host reads (an SMB or NFS share). A full backup is consistent as of its end:
# once BACKUP returns, the script prints "bbvault-ready" on stderr (Bitbucket may be unlocked)
# and then streams the file into bbvault, removing it at the end. COPY_ONLY leaves the
# server's own backup chain alone; NO_COMPRESSION keeps the backup deduplicable (bbvault
# compresses and encrypts it itself).
#
# Settings (environment):
#   MSSQL_SERVER          server[,port] for sqlcmd -S
#   MSSQL_USER            login with the db_backupoperator role (or Windows/Kerberos: unset it)
#   MSSQL_PASSWORD_FILE   file (mode 0600) holding that login's password; it reaches sqlcmd
#                         through SQLCMDPASSWORD, never on a command line
#   MSSQL_DATABASE        Bitbucket's database, e.g. bitbucket
#   MSSQL_SERVER_DIR      the share as the server names it, e.g. /var/opt/mssql/backup/bbvault
#   MSSQL_LOCAL_DIR       the same directory as this host mounts it
set -eu

db=${MSSQL_DATABASE:?set MSSQL_DATABASE}
server_dir=${MSSQL_SERVER_DIR:?set MSSQL_SERVER_DIR (the backup directory as SQL Server sees it)}
local_dir=${MSSQL_LOCAL_DIR:?set MSSQL_LOCAL_DIR (the same directory as this host mounts it)}
name="bbvault-$(date +%Y%m%d%H%M%S)-$$.bak"

set -- -b -S "${MSSQL_SERVER:?set MSSQL_SERVER}"
if [ -n "${MSSQL_USER:-}" ]; then
	SQLCMDPASSWORD=$(cat "${MSSQL_PASSWORD_FILE:-/etc/bbvault/mssql-password}")
	export SQLCMDPASSWORD
	set -- "$@" -U "$MSSQL_USER"
fi

trap 'rm -f "$local_dir/$name"' EXIT
sqlcmd "$@" -Q "BACKUP DATABASE [$db] TO DISK = N'$server_dir/$name' WITH COPY_ONLY, NO_COMPRESSION, FORMAT, INIT, CHECKSUM" >&2
echo "bbvault-ready" >&2
cat "$local_dir/$name"
