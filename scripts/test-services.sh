#!/usr/bin/env bash
# What the tests need on the machine before pytest starts (`make test` runs this).
#
# The tests start their own private servers (tests/fixtures/): two PostgreSQL 15
# clusters, one of them with TimescaleDB preloaded, and a Mosquitto broker, so only
# the programs must be here. The machine's own services (PostgreSQL on 5432,
# Mosquitto on 1883) are neither used nor touched.
#
# Missing Debian packages are installed when running as root; TimescaleDB is built by
# scripts/timescaledb.sh (a fast no-op once installed). Non-interactive.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_BIN=${HEADEND_TEST_PG_BIN:-/usr/lib/postgresql/15/bin}

log() { printf '[test-services] %s\n' "$*" >&2; }
die() {
	printf '[test-services] ERROR: %s\n' "$*" >&2
	exit 1
}

have_programs() {
	local program
	for program in initdb pg_ctl postgres pg_config; do
		[[ -x $PG_BIN/$program ]] || return 1
	done
	command -v mosquitto >/dev/null || [[ -x /usr/sbin/mosquitto ]]
}

if ! have_programs; then
	[[ $(id -u) -eq 0 ]] ||
		die "PostgreSQL 15 ($PG_BIN) or mosquitto is missing: sudo apt-get install postgresql-15 mosquitto"
	log "installing postgresql-15 and mosquitto"
	export DEBIAN_FRONTEND=noninteractive
	apt-get -q update >/dev/null
	apt-get install -y -q --no-install-recommends postgresql-15 mosquitto >/dev/null
	have_programs || die "PostgreSQL 15 ($PG_BIN) or mosquitto still missing after apt-get install"
fi
# The private clusters run as the postgres user when the tests run as root.
if [[ $(id -u) -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
	die "the tests run as root but there is no 'postgres' user to run PostgreSQL as"
fi

PG_CONFIG=$PG_BIN/pg_config bash scripts/timescaledb.sh
