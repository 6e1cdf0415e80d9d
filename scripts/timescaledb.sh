#!/usr/bin/env bash
# Build and install the Apache-licensed TimescaleDB for the machine's PostgreSQL 15.
#
# TimescaleDB is not packaged for Debian 12 (bookworm). Debian 13 (trixie) packages
# it (source package `timescaledb`, with the Timescale-licensed `tsl/` removed), so
# this script fetches that source with `apt-get source` from the mirror the machine
# already uses, through a temporary deb-src list that stays out of /etc/apt and the
# system's package lists, then builds it against postgresql-server-dev-15 with cmake
# and installs it into PostgreSQL 15's directories.
#
# Idempotent: when timescaledb.control is installed for PostgreSQL 15 and the library
# loads, it exits at once. Needs root (or password-less sudo) only when it builds.
# Non-interactive (no standard input is read). About a minute on two cores.
#
# Environment:
#   PG_CONFIG            pg_config of the target server (/usr/lib/postgresql/15/bin/pg_config)
#   TIMESCALEDB_VERSION  upstream version wanted (2.19.3); when the mirror no longer has
#                        it, the version trixie has is built and a warning is printed
#   TIMESCALEDB_SUITE    Debian suite to take the source from (trixie)
#   TIMESCALEDB_MIRROR   Debian mirror URL; default: the one the machine's apt uses
#   TIMESCALEDB_FORCE=1  rebuild even when an installed copy is found
set -euo pipefail

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
WANTED=${TIMESCALEDB_VERSION:-2.19.3}
SUITE=${TIMESCALEDB_SUITE:-trixie}
FORCE=${TIMESCALEDB_FORCE:-0}

log() { printf '[timescaledb %4ss] %s\n' "$SECONDS" "$*" >&2; }
die() {
	printf '[timescaledb %4ss] ERROR: %s\n' "$SECONDS" "$*" >&2
	exit 1
}

[[ -x $PG_CONFIG ]] || die "$PG_CONFIG not found: install postgresql-15 (the server the tests use)"
PG_BINDIR=$("$PG_CONFIG" --bindir)
PG_SHAREDIR=$("$PG_CONFIG" --sharedir)
PG_PKGLIBDIR=$("$PG_CONFIG" --pkglibdir)
CONTROL="$PG_SHAREDIR/extension/timescaledb.control"

# The version named by the installed control file ('' when there is none).
installed_version() {
	[[ -f $CONTROL ]] || return 0
	sed -n "s/^default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" "$CONTROL"
}

# Do the installed loader and versioned library load into PostgreSQL 15? Starts no
# server: `postgres -C <runtime-computed setting>` loads shared_preload_libraries
# (with all symbols resolved), prints the setting and exits. It needs the control file
# of a cluster, so a throw-away one is made first (under a second); PostgreSQL refuses
# root, so as root both run as the postgres user.
library_loads() {
	local version=$1 dir out as=()
	[[ -f "$PG_PKGLIBDIR/timescaledb.so" && -f "$PG_PKGLIBDIR/timescaledb-$version.so" ]] || return 1
	[[ -f "$PG_SHAREDIR/extension/timescaledb--$version.sql" ]] || return 1
	dir=$(mktemp -d "${TMPDIR:-/tmp}/timescaledb-check.XXXXXX")
	if [[ $(id -u) -eq 0 ]]; then
		chown postgres "$dir"
		as=(runuser -u postgres --)
	fi
	if out=$("${as[@]}" "$PG_BINDIR/initdb" -D "$dir/data" -N -A trust -U postgres 2>&1) &&
		out=$("${as[@]}" "$PG_BINDIR/postgres" -C shared_memory_size -D "$dir/data" \
			-c "shared_preload_libraries=timescaledb,timescaledb-$version" \
			-c timescaledb.telemetry_level=off 2>&1); then
		rm -rf "$dir"
		return 0
	fi
	rm -rf "$dir"
	log "TimescaleDB $version does not load: $out"
	return 1
}

current=$(installed_version)
if [[ $FORCE != 1 && -n $current ]] && library_loads "$current"; then
	log "TimescaleDB $current is installed for PostgreSQL $("$PG_CONFIG" --version | awk '{print $2}') and loads: nothing to do"
	exit 0
fi
[[ -n $current ]] && log "found TimescaleDB '$current' but it does not load: rebuilding"

# Everything below installs system files.
SUDO=()
if [[ $(id -u) -ne 0 ]]; then
	if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
		SUDO=(sudo -n)
	else
		die "TimescaleDB is not installed for PostgreSQL 15 and building it needs root: run 'sudo $0' once"
	fi
fi
export DEBIAN_FRONTEND=noninteractive

# The mirror of the machine's own Debian sources: the first `deb` source whose suites
# include this release's codename, in /etc/apt/sources.list (one-line format) and
# /etc/apt/sources.list.d/*.list (one-line) or *.sources (deb822).
find_mirror() {
	local codename=$1 etc=${APT_ETC:-/etc/apt} file  # APT_ETC: for trying the parser
	for file in "$etc/sources.list" "$etc"/sources.list.d/*.list; do
		[[ -f $file ]] || continue
		awk -v want="$codename" '
			/^[[:space:]]*#/ { next }
			$1 == "deb" {
				i = 2
				if ($i ~ /^\[/) { while ($i !~ /\]$/ && i < NF) i++; i++ }
				if ($(i + 1) == want) { print $i; exit }
			}' "$file"
	done
	for file in "$etc"/sources.list.d/*.sources; do
		[[ -f $file ]] || continue
		# deb822: stanzas separated by blank lines; fields may span lines.
		awk -v want="$codename" '
			function flush() {
				if (types ~ /(^| )deb( |$)/ && enabled != "no" && (" " suites " ") ~ (" " want " ")) {
					split(uris, u, " "); print u[1]; found = 1
				}
				types = uris = suites = ""; enabled = "yes"
			}
			BEGIN { enabled = "yes" }
			/^[[:space:]]*#/ { next }
			/^[[:space:]]*$/ { flush(); if (found) exit; field = ""; next }
			/^[[:space:]]/ { if (field == "uris") uris = uris " " $0; if (field == "suites") suites = suites " " $0; next }
			{
				field = tolower(substr($0, 1, index($0, ":") - 1)); value = substr($0, index($0, ":") + 1)
				gsub(/^[[:space:]]+|[[:space:]]+$/, "", value)
				if (field == "types") types = value
				else if (field == "uris") uris = value
				else if (field == "suites") suites = value
				else if (field == "enabled") enabled = tolower(value)
			}
			END { if (!found) flush() }' "$file"
	done
}

# shellcheck source=/dev/null
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[[ -n $codename ]] || die "cannot tell the Debian release from /etc/os-release"
mirror=${TIMESCALEDB_MIRROR:-$(find_mirror "$codename" | head -n 1)}
[[ -n $mirror ]] || die "no 'deb' source for '$codename' in /etc/apt/sources.list{,.d/}; set TIMESCALEDB_MIRROR"
mirror=${mirror%/}
log "building TimescaleDB $WANTED (Apache-licensed) from Debian $SUITE sources at $mirror"

work=$(mktemp -d "${TMPDIR:-/tmp}/timescaledb-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/src"
echo "deb-src $mirror $SUITE main" >"$work/sources.list"
chmod 755 "$work"
# apt drops to the _apt user to download; let it write there (else it warns).
if id _apt >/dev/null 2>&1 && [[ $(id -u) -eq 0 ]]; then
	chown _apt "$work/src" "$work/lists/partial" "$work/cache/archives/partial"
fi
APT_PRIVATE=(
	-o "Dir::Etc::SourceList=$work/sources.list"
	-o "Dir::Etc::SourceParts=/dev/null"
	-o "Dir::State::Lists=$work/lists"
	-o "Dir::Cache=$work/cache"
)

# Build tools first (dpkg-dev unpacks the source); the system lists may be stale or
# absent on a new machine, so they are refreshed before installing anything.
needed=(postgresql-server-dev-15 cmake make gcc dpkg-dev xz-utils)
missing=()
for pkg in "${needed[@]}"; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
	log "installing ${missing[*]}"
	"${SUDO[@]}" apt-get -q update >"$work/apt-update.log" 2>&1 ||
		die "apt-get update failed: $(tail -n 20 "$work/apt-update.log")"
	"${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >"$work/apt-install.log" 2>&1 ||
		die "apt-get install ${missing[*]} failed: $(tail -n 20 "$work/apt-install.log")"
fi
[[ -d $("$PG_CONFIG" --includedir-server) ]] || die "PostgreSQL 15 server headers missing after installing postgresql-server-dev-15"

log "fetching the $SUITE source index (private lists in $work)"
apt-get -q "${APT_PRIVATE[@]}" update >"$work/apt-src-update.log" 2>&1 ||
	die "apt-get update of the deb-src list failed: $(tail -n 20 "$work/apt-src-update.log")"
versions=$(apt-cache "${APT_PRIVATE[@]}" showsrc timescaledb 2>/dev/null | sed -n 's/^Version: //p' | sort -rV)
[[ -n $versions ]] || die "the $SUITE sources at $mirror have no timescaledb package"
version=$(grep -m 1 -E "^${WANTED//./\\.}([+~-]|\$)" <<<"$versions" || true)
if [[ -z $version ]]; then
	version=$(head -n 1 <<<"$versions")
	log "WARNING: TimescaleDB $WANTED is gone from $SUITE; building $version instead"
fi
log "downloading source package timescaledb $version"
(cd "$work/src" && apt-get -q "${APT_PRIVATE[@]}" source "timescaledb=$version") >"$work/apt-source.log" 2>&1 ||
	die "apt-get source timescaledb=$version failed: $(tail -n 20 "$work/apt-source.log")"
srcdir=$(find "$work/src" -mindepth 1 -maxdepth 1 -type d -name 'timescaledb-*' | head -n 1)
[[ -n $srcdir && -f $srcdir/CMakeLists.txt ]] || die "apt-get source left no timescaledb source tree in $work/src"

# Debian's own flags (debian/rules) plus no tests: the Apache-only edition, no telemetry.
log "configuring $(basename "$srcdir") with cmake"
cmake -S "$srcdir" -B "$srcdir/build" \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DPG_CONFIG="$PG_CONFIG" \
	-DAPACHE_ONLY=1 \
	-DUSE_TELEMETRY=OFF \
	-DSEND_TELEMETRY_DEFAULT=OFF \
	-DREGRESS_CHECKS=OFF \
	-DTAP_CHECKS=OFF \
	-DWARNINGS_AS_ERRORS=OFF >"$work/cmake.log" 2>&1 ||
	die "cmake failed: $(tail -n 30 "$work/cmake.log")"
log "compiling on $(nproc) cores"
make -C "$srcdir/build" -j "$(nproc)" >"$work/make.log" 2>&1 ||
	die "make failed: $(grep -m 20 -E 'error|Error' "$work/make.log" || tail -n 30 "$work/make.log")"
log "installing into $PG_PKGLIBDIR and $PG_SHAREDIR/extension"
"${SUDO[@]}" make -C "$srcdir/build" install >"$work/install.log" 2>&1 ||
	die "make install failed: $(tail -n 30 "$work/install.log")"

built=$(installed_version)
[[ -n $built ]] || die "make install left no $CONTROL"
library_loads "$built" || die "TimescaleDB $built was installed but does not load into PostgreSQL 15"
log "TimescaleDB $built (Debian $version, Apache-licensed) installed and loads; took ${SECONDS}s"
