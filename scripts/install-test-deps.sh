#!/usr/bin/env bash
# Installs what bbvault's tests and benchmarks run against: PostgreSQL (server
# and client tools), git, rsync, restic (benchmark baseline), gcc (go test
# -race needs cgo), btrfs-progs and e2fsprogs (the filesystem-snapshot tests
# make a btrfs filesystem on a loop device) and a MinIO server built from source into
# $(go env GOPATH)/bin. Idempotent: when everything is present it only checks.
set -euo pipefail

MINIO_MODULE="github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c"

log() { printf 'install-test-deps: %s\n' "$*"; }

# as_root runs a command as root (directly, or with sudo when there is one).
as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		log "need root to run: $*" >&2
		exit 1
	fi
}

# has_pg_server: an initdb and a postgres binary in a PostgreSQL bin directory.
has_pg_server() {
	local dir
	for dir in /usr/lib/postgresql/*/bin; do
		if [ -x "$dir/initdb" ] && [ -x "$dir/postgres" ]; then
			return 0
		fi
	done
	return 1
}

missing_packages() {
	local missing=()
	has_pg_server || missing+=(postgresql)
	command -v pg_dump >/dev/null 2>&1 || missing+=(postgresql-client)
	local cmd
	for cmd in git rsync restic gcc; do
		command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd")
	done
	command -v mkfs.btrfs >/dev/null 2>&1 || missing+=(btrfs-progs)
	command -v chattr >/dev/null 2>&1 || missing+=(e2fsprogs)
	echo "${missing[@]}"
}

install_packages() {
	local missing
	missing="$(missing_packages)"
	if [ -z "$missing" ]; then
		log "ok: postgresql, git, rsync, restic, gcc, btrfs-progs already installed"
		return
	fi
	log "installing with apt-get: $missing"
	as_root apt-get update -qq
	# shellcheck disable=SC2086 # one word per package
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
	missing="$(missing_packages)"
	if [ -n "$missing" ]; then
		log "still missing after apt-get install: $missing" >&2
		exit 1
	fi
}

install_minio() {
	local gobin
	gobin="$(go env GOPATH | cut -d: -f1)/bin"
	if [ -x "$gobin/minio" ]; then
		log "ok: minio at $gobin/minio"
		return
	fi
	if command -v minio >/dev/null 2>&1; then
		log "ok: minio at $(command -v minio)"
		return
	fi
	log "building MinIO from source into $gobin (takes a few minutes): go install $MINIO_MODULE"
	GOBIN="$gobin" GOFLAGS=-buildvcs=false go install "$MINIO_MODULE"
	log "installed minio at $gobin/minio"
}

main() {
	if ! command -v go >/dev/null 2>&1; then
		log "go not found in PATH: install Go 1.26 first" >&2
		exit 1
	fi
	install_packages
	# BBVAULT_SKIP_MINIO=1: the demo needs PostgreSQL and git, not MinIO.
	if [ "${BBVAULT_SKIP_MINIO:-0}" != "1" ]; then
		install_minio
	fi
	if [ "$(go env CGO_ENABLED)" != "1" ]; then
		log "warning: CGO_ENABLED is not 1, so go test -race cannot run" >&2
	fi
}

main "$@"
