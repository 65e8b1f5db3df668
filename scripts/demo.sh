#!/usr/bin/env bash
# make demo: back up a live Bitbucket stand-in (a home of real git
# repositories that keeps receiving pushes, and its PostgreSQL database) into
# a local bbvault repository, with the maintenance lock held only for the
# locked pass; then restore home and database onto a "new host" and check
# that they agree with each other. Everything runs on 127.0.0.1 in a
# throwaway directory (BBVAULT_DEMO_DIR to choose it; kept for inspection:
# the end of the run says where everything is and how to remove it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# PostgreSQL and git only; apt's output is shown only if it fails.
BBVAULT_DEPS=demo bash scripts/install-test-deps.sh
say "building bbvault and the Bitbucket stand-in"
go build -o bin/bbvault ./cmd/bbvault
go build -o bin/bbstandin ./test/standin/cmd/bbstandin

DEMO="${BBVAULT_DEMO_DIR:-$(mktemp -d /tmp/bbvault-demo.XXXXXX)}"
mkdir -p "$DEMO"
chmod 755 "$DEMO"
PGBIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
PGPORT=$((20000 + RANDOM % 20000))
BBPORT=$((40000 + RANDOM % 20000))
pids=()

cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	if [ -f "$DEMO/pg/postmaster.pid" ]; then
		as_pg "$PGBIN/pg_ctl" -D "$DEMO/pg" -m fast stop >/dev/null 2>&1 || true
	fi
	cat <<EOT

Everything the demo made is kept in $DEMO (PostgreSQL and the stand-in are stopped):
  repository:        $DEMO/repo
  its password:      $DEMO/repo-password
  restored home:     $DEMO/restored-home
  look around:       export BBVAULT_REPOSITORY=$DEMO/repo BBVAULT_PASSWORD_FILE=$DEMO/repo-password BBVAULT_CACHE_DIR=$DEMO/cache
                     bin/bbvault snapshots; bin/bbvault ls latest
  remove it all:     rm -rf $DEMO
EOT
}
trap cleanup EXIT

# PostgreSQL refuses to run as root: run it as the postgres user then.
as_pg() {
	if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

say "starting PostgreSQL on 127.0.0.1:$PGPORT"
head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$DEMO/pg-password"
chmod 644 "$DEMO/pg-password"
mkdir -p "$DEMO/pg"
[ "$(id -u)" -eq 0 ] && chown postgres: "$DEMO/pg"
as_pg "$PGBIN/initdb" -D "$DEMO/pg" -U bbvault --pwfile="$DEMO/pg-password" -A scram-sha-256 >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$DEMO/pg" -l "$DEMO/pg/log" -w start \
	-o "-c listen_addresses=127.0.0.1 -p $PGPORT -c unix_socket_directories=$DEMO/pg -c fsync=off" >/dev/null
export PGPASSWORD
PGPASSWORD="$(cat "$DEMO/pg-password")"
DB="postgres://bbvault@127.0.0.1:$PGPORT/bitbucket?sslmode=disable"
"$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U bbvault bitbucket
"$PGBIN/psql" -q -h 127.0.0.1 -p "$PGPORT" -U bbvault bitbucket <<'SQL'
CREATE TABLE cwd_user (id bigserial PRIMARY KEY, user_name text UNIQUE, credential text);
CREATE TABLE sta_pull_request (id bigserial PRIMARY KEY, repo_id int, title text, created timestamptz);
INSERT INTO cwd_user (user_name, credential)
  SELECT 'user' || g, '{PKCS5S2}' || md5(g::text) FROM generate_series(1, 2000) g;
INSERT INTO sta_pull_request (repo_id, title, created)
  SELECT 1 + g % 8, 'Pull request ' || g, now() - g * interval '1 minute' FROM generate_series(1, 50000) g;
SQL

say "starting the Bitbucket stand-in on 127.0.0.1:$BBPORT (8 repositories, pushing every 100 ms)"
head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$DEMO/bb-password"
BBSTANDIN_DB="$DB" bin/bbstandin --listen "127.0.0.1:$BBPORT" --user admin --password-file "$DEMO/bb-password" \
	--home "$DEMO/home" --init-repos 8 --push-interval 100ms --drain-time 1s >"$DEMO/standin.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q 'stand-in at' "$DEMO/standin.log" && break; sleep 0.1; done
grep -q 'stand-in at' "$DEMO/standin.log" || { cat "$DEMO/standin.log"; exit 1; }

export BBVAULT_REPOSITORY="$DEMO/repo" BBVAULT_CACHE_DIR="$DEMO/cache" BBVAULT_STATE_DIR="$DEMO/state"
export BBVAULT_PASSWORD_FILE="$DEMO/repo-password"
head -c 24 /dev/urandom | base64 >"$BBVAULT_PASSWORD_FILE"
export BITBUCKET_URL="http://127.0.0.1:$BBPORT" BITBUCKET_USER=admin BITBUCKET_PASSWORD_FILE="$DEMO/bb-password"

say "bbvault init"
bin/bbvault init
sleep 1
say "bbvault snapshot (first: everything)"
bin/bbvault snapshot --home "$DEMO/home" --bitbucket-url "$BITBUCKET_URL" --db "$DB"
sleep 2
say "bbvault snapshot (second: the home re-reads only what the pushes changed; the database is dumped again whole, and only its changed chunks are stored)"
bin/bbvault snapshot --home "$DEMO/home" --bitbucket-url "$BITBUCKET_URL" --db "$DB"
echo "(\"added\" counts the changed home files plus every database chunk (about 1 MiB each) that a push touched:"
echo " on this 3 MiB database that is a large share; on a real one it is a small one)"
say "bbvault snapshots"
bin/bbvault snapshots

say "bbvault restore latest onto a new host"
bin/bbvault restore latest --target "$DEMO/restored-home" \
	--db-target "postgres://bbvault@127.0.0.1:$PGPORT/bitbucket_restored?sslmode=disable"
say "checking that the restored home and database agree (every repository at its last recorded push)"
bin/bbstandin -check --home "$DEMO/restored-home" --db "postgres://bbvault@127.0.0.1:$PGPORT/bitbucket_restored?sslmode=disable"
say "demo done"
