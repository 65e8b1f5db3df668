#!/usr/bin/env bash
# Installs what bbvault's tests and benchmarks run against: PostgreSQL (server
# and client tools), git, rsync, restic (benchmark baseline), systemd-analyze
# (checks the shipped units), gcc (go test -race needs cgo), btrfs-progs and
# e2fsprogs (the filesystem-snapshot tests make a btrfs filesystem on a loop
# device), openssh-server and -client (the Mesh node tests run sshd on 127.0.0.1; the
# package's own service is not started, see no_service_start), a MinIO server and a Prometheus Pushgateway built from source into
# $(go env GOPATH)/bin. Idempotent: when everything is present it only checks.
set -euo pipefail

MINIO_MODULE="github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c"
PUSHGATEWAY_MODULE="github.com/prometheus/pushgateway"
PUSHGATEWAY_VERSION="v1.11.1"

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
	if [ "${BBVAULT_DEPS:-test}" = demo ]; then
		command -v git >/dev/null 2>&1 || missing+=(git)
		echo "${missing[@]}"
		return
	fi
	for cmd in git rsync restic gcc; do
		command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd")
	done
	# systemd-analyze verifies the shipped units (deploy/).
	command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
	command -v mkfs.btrfs >/dev/null 2>&1 || missing+=(btrfs-progs)
	command -v chattr >/dev/null 2>&1 || missing+=(e2fsprogs)
	# The Mesh node tests reach "nodes" on this machine through a real sshd.
	[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
	command -v ssh >/dev/null 2>&1 || missing+=(openssh-client)
	echo "${missing[@]}"
}

install_packages() {
	local missing
	missing="$(missing_packages)"
	if [ -z "$missing" ]; then
		log "ok: the packages needed are installed"
		return
	fi
	log "installing with apt-get: $missing"
	local aptlog
	aptlog="$(mktemp)"
	# apt's chatter goes to a log, shown only when it fails.
	no_service_start
	# shellcheck disable=SC2086 # one word per package
	if ! { as_root apt-get update -qq &&
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing; } >"$aptlog" 2>&1; then
		cat "$aptlog" >&2
		rm -f "$aptlog"
		log "apt-get install $missing failed" >&2
		exit 1
	fi
	rm -f "$aptlog"
	missing="$(missing_packages)"
	if [ -n "$missing" ]; then
		log "still missing after apt-get install: $missing" >&2
		exit 1
	fi
}

# no_service_start keeps apt from starting the services of what it installs
# (openssh-server would listen on every address): Debian's policy-rc.d
# answering 101, unless the machine already has one.
no_service_start() {
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\n# written by bbvault install-test-deps.sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
		as_root chmod 755 /usr/sbin/policy-rc.d
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

# install_pushgateway builds the Pushgateway the metrics tests push to.
# `go install module@version` cannot be used: it asks the module proxy for
# the module's version list (to check for deprecation), which the proxy
# refuses for this module; a throwaway module that requires the pinned
# version builds the same binary without that lookup.
install_pushgateway() {
	local gobin tmp
	gobin="$(go env GOPATH | cut -d: -f1)/bin"
	if [ -x "$gobin/pushgateway" ] || command -v pushgateway >/dev/null 2>&1; then
		log "ok: pushgateway already installed"
		return
	fi
	log "building the Prometheus Pushgateway $PUSHGATEWAY_VERSION into $gobin (about a minute)"
	tmp="$(mktemp -d)"
	(
		cd "$tmp"
		go mod init bbvault-pushgateway-build >/dev/null 2>&1
		go mod edit -require "$PUSHGATEWAY_MODULE@$PUSHGATEWAY_VERSION"
		GOFLAGS="-mod=mod -buildvcs=false" go build -o "$gobin/pushgateway" "$PUSHGATEWAY_MODULE"
	) || { rm -rf "$tmp"; log "building the Pushgateway failed" >&2; exit 1; }
	rm -rf "$tmp"
	log "installed pushgateway at $gobin/pushgateway"
}

main() {
	if ! command -v go >/dev/null 2>&1; then
		log "go not found in PATH: install Go 1.26 first" >&2
		exit 1
	fi
	install_packages
	# BBVAULT_DEPS=demo: the demo needs PostgreSQL and git only (no MinIO,
	# Pushgateway, restic, rsync). BBVAULT_SKIP_MINIO=1 is the older spelling.
	if [ "${BBVAULT_DEPS:-test}" = demo ] || [ "${BBVAULT_SKIP_MINIO:-0}" = 1 ]; then
		return
	fi
	install_minio
	install_pushgateway
	if [ "$(go env CGO_ENABLED)" != "1" ]; then
		log "warning: CGO_ENABLED is not 1, so go test -race cannot run" >&2
	fi
}

main "$@"
