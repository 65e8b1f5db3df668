#!/usr/bin/env bash
# The DIY restore the way Atlassian's bitbucket-diy-restore scripts do it
# (archive strategy "tar", home strategy "rsync", database "postgresql"):
# fetch the archive, extract it into a restore directory, pg_restore the
# database with 5 jobs, and rsync the home into place.
#
# Atlassian's script runs `pg_restore -C -d postgres`, which recreates the
# database under its original name; the benchmark restores next to the
# original on the same server, so the target database is created first and
# restored into by name. Everything else is as the scripts do it.
#
# Environment:
#   DIY_ARCHIVE        the archive: a local path, or an http(s) S3 URL with
#                      AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and AWS_REGION)
#   DIY_RESTORE_ROOT   where the archive is fetched and extracted (Atlassian's BITBUCKET_RESTORE_ROOT)
#   BITBUCKET_HOME     the home to restore into (must not exist or be empty)
#   BITBUCKET_DB       the database to create and restore into; PGHOST/PGPORT/PGUSER/PGPASSWORD reach it
#   PG_JOBS            pg_restore parallelism (default 5)
set -euo pipefail

: "${DIY_ARCHIVE:?set DIY_ARCHIVE}" "${DIY_RESTORE_ROOT:?set DIY_RESTORE_ROOT}"
: "${BITBUCKET_HOME:?set BITBUCKET_HOME}" "${BITBUCKET_DB:?set BITBUCKET_DB}"
PG_JOBS="${PG_JOBS:-5}"

log() { printf 'diy-restore: %s\n' "$*" >&2; }

if [ -d "$BITBUCKET_HOME" ] && [ -n "$(ls -A "$BITBUCKET_HOME")" ]; then
	log "$BITBUCKET_HOME is not empty: refusing to restore over it"
	exit 1
fi

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

fetch() {
	case "$DIY_ARCHIVE" in
	http://* | https://*)
		umask 077
		printf 'user = "%s:%s"\naws-sigv4 = "aws:amz:%s:s3"\n' \
			"$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" "${AWS_REGION:-us-east-1}" >"$TMP/s3.curl"
		umask 022
		curl -sS --fail -K "$TMP/s3.curl" -o "$DIY_RESTORE_ROOT/backup.tar.gz" "$DIY_ARCHIVE"
		ARCHIVE="$DIY_RESTORE_ROOT/backup.tar.gz"
		;;
	*) ARCHIVE="$DIY_ARCHIVE" ;;
	esac
}

main() {
	mkdir -p "$DIY_RESTORE_ROOT" "$BITBUCKET_HOME"
	fetch
	log "extracting $ARCHIVE"
	tar -xzf "$ARCHIVE" -C "$DIY_RESTORE_ROOT"
	log "restoring the database with $PG_JOBS jobs"
	createdb "$BITBUCKET_DB"
	pg_restore -Fd -j "$PG_JOBS" --no-owner -d "$BITBUCKET_DB" "$DIY_RESTORE_ROOT/db"
	log "rsync of the home into place"
	rsync -a "$DIY_RESTORE_ROOT/home/" "$BITBUCKET_HOME/"
}

main "$@"
