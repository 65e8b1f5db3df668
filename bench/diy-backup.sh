#!/usr/bin/env bash
# The DIY backup of Bitbucket the way Atlassian's bitbucket-diy-backup scripts
# do it (home strategy "rsync", database strategy "postgresql", archive
# strategy "tar"), condensed into one script so the benchmark can run it
# beside bbvault and restic:
#
#   1. rsync the home into the staging directory while Bitbucket is live;
#   2. lock Bitbucket, start an external backup, wait until both the
#      database and the repositories report DRAINED;
#   3. under the lock, in parallel: pg_dump -Fd -j 5 of the database into
#      staging, and rsync the home again;
#   4. report 100% and unlock;
#   5. tar -czf the staging directory into an archive, kept in a local
#      directory or uploaded to S3 with curl (then removed locally).
#
# Configuration comes from the environment (secrets included: none of them
# reaches a process's arguments; curl reads them from a 0600 config file):
#   BITBUCKET_HOME, BITBUCKET_URL, BITBUCKET_USER, BITBUCKET_PASSWORD
#   BITBUCKET_DB               database name; PGHOST/PGPORT/PGUSER/PGPASSWORD reach it
#   DIY_STAGING                staging directory (Atlassian's BITBUCKET_BACKUP_ROOT), kept between runs
#   DIY_ARCHIVE_DIR            where archives are kept, or
#   DIY_S3_URL                 http(s)://host:port/bucket/prefix to upload them to, with
#                              AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and AWS_REGION)
#   PG_JOBS                    pg_dump parallelism (default 5, as Atlassian's PG_PARALLEL)
#
# Machine-readable lines on stdout: DIY_LOCK_NS, DIY_UNLOCK_NS (Unix time in
# nanoseconds of the lock and unlock answers), DIY_ARCHIVE, DIY_ARCHIVE_BYTES.
set -euo pipefail

: "${BITBUCKET_HOME:?set BITBUCKET_HOME}" "${BITBUCKET_URL:?set BITBUCKET_URL}"
: "${BITBUCKET_USER:?set BITBUCKET_USER}" "${BITBUCKET_PASSWORD:?set BITBUCKET_PASSWORD}"
: "${BITBUCKET_DB:?set BITBUCKET_DB}" "${DIY_STAGING:?set DIY_STAGING}"
PG_JOBS="${PG_JOBS:-5}"
if [ -z "${DIY_ARCHIVE_DIR:-}" ] && [ -z "${DIY_S3_URL:-}" ]; then
	echo "diy-backup: set DIY_ARCHIVE_DIR or DIY_S3_URL" >&2
	exit 2
fi

# The paths Atlassian's rsync strategy leaves out, in both the node-home and
# the shared/ form (bench/internal/excludes checks this list).
EXCLUDES=(
	--exclude=/caches/ --exclude=/shared/caches/
	--exclude=/tmp/ --exclude=/shared/tmp/
	--exclude=/export/ --exclude=/shared/export/
	--exclude=/.lock --exclude=/shared/.lock
	--exclude=/data/db.* --exclude=/shared/data/db.*
	--exclude=/search/data/ --exclude=/shared/search/data/
	--exclude=/plugins/.*/ --exclude=/shared/plugins/.*/
	--exclude=/log/ --exclude=/shared/log/
)

log() { printf 'diy-backup: %s\n' "$*" >&2; }
now_ns() { date +%s%N; }

TMP="$(mktemp -d)"
TOKEN=""
cleanup() {
	if [ -n "$TOKEN" ]; then
		log "unlocking after a failure"
		bb -X DELETE "$BITBUCKET_URL/mvc/maintenance/lock?token=$TOKEN" >/dev/null || true
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT

# curl reads the credentials from a config file, never from its arguments.
umask 077
printf 'user = "%s:%s"\n' "$BITBUCKET_USER" "$BITBUCKET_PASSWORD" >"$TMP/bitbucket.curl"
umask 022

bb() {
	curl -sS --fail-with-body -K "$TMP/bitbucket.curl" \
		-H 'Content-Type: application/json' -H 'Accept: application/json' "$@"
}

# json_str FIELD: the string value of FIELD in the JSON document on stdin.
json_str() { sed -n "s/.*\"$1\" *: *\"\([^\"]*\)\".*/\1/p" | head -n 1; }

home_rsync() {
	mkdir -p "$DIY_STAGING/home"
	rsync -a --delete --delete-excluded "${EXCLUDES[@]}" "$BITBUCKET_HOME/" "$DIY_STAGING/home/"
}

db_dump() {
	rm -rf "$DIY_STAGING/db"
	pg_dump -Fd -j "$PG_JOBS" -f "$DIY_STAGING/db" "$BITBUCKET_DB"
}

lock() {
	local answer
	answer="$(bb -X POST "$BITBUCKET_URL/mvc/maintenance/lock")"
	TOKEN="$(json_str unlockToken <<<"$answer")"
	if [ -z "$TOKEN" ]; then
		log "no unlockToken in the lock answer: $answer"
		exit 1
	fi
	echo "DIY_LOCK_NS=$(now_ns)"
	bb -X POST -H "X-Atlassian-Maintenance-Token: $TOKEN" "$BITBUCKET_URL/mvc/admin/backups?external=true" >/dev/null
}

wait_drained() {
	local status
	while :; do
		status="$(bb -H "X-Atlassian-Maintenance-Token: $TOKEN" "$BITBUCKET_URL/mvc/maintenance")"
		if [ "$(json_str state <<<"$(sed -n 's/.*"task" *: *{\(.*\)/\1/p' <<<"$status")")" != "RUNNING" ]; then
			log "the backup task is no longer running: $status"
			exit 1
		fi
		if [ "$(json_str db-state <<<"$status")_$(json_str scm-state <<<"$status")" = "DRAINED_DRAINED" ]; then
			return
		fi
		sleep 0.1
	done
}

progress() {
	bb -X POST "$BITBUCKET_URL/mvc/admin/backups/progress/client?token=$TOKEN&percentage=$1" >/dev/null
}

unlock() {
	bb -X DELETE "$BITBUCKET_URL/mvc/maintenance/lock?token=$TOKEN" >/dev/null
	TOKEN=""
	echo "DIY_UNLOCK_NS=$(now_ns)"
}

archive() {
	local name archive_path
	name="bitbucket-$(date -u +%Y%m%d-%H%M%S)-$(now_ns).tar.gz"
	if [ -n "${DIY_ARCHIVE_DIR:-}" ]; then
		mkdir -p "$DIY_ARCHIVE_DIR"
		archive_path="$DIY_ARCHIVE_DIR/$name"
	else
		archive_path="$DIY_STAGING/$name"
	fi
	tar -czf "$archive_path" -C "$DIY_STAGING" home db
	echo "DIY_ARCHIVE_BYTES=$(stat -c %s "$archive_path")"
	if [ -n "${DIY_S3_URL:-}" ]; then
		upload "$archive_path" "$DIY_S3_URL/$name"
		rm -f "$archive_path"
		echo "DIY_ARCHIVE=$DIY_S3_URL/$name"
	else
		echo "DIY_ARCHIVE=$archive_path"
	fi
}

# upload PUTs a file to S3, signed with SigV4 by curl.
upload() {
	umask 077
	printf 'user = "%s:%s"\naws-sigv4 = "aws:amz:%s:s3"\n' \
		"$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" "${AWS_REGION:-us-east-1}" >"$TMP/s3.curl"
	umask 022
	curl -sS --fail-with-body -K "$TMP/s3.curl" -T "$1" "$2" >/dev/null
}

main() {
	log "pre-pass: rsync of the live home"
	home_rsync
	lock
	wait_drained
	log "locked and drained: pg_dump -Fd -j $PG_JOBS and rsync in parallel"
	local db_pid home_pid
	db_dump & db_pid=$!
	home_rsync & home_pid=$!
	wait "$db_pid"
	progress 50
	wait "$home_pid"
	progress 50
	progress 100
	unlock
	log "archiving"
	archive
}

main "$@"
