#!/usr/bin/env bash
# Installs the PostgreSQL client programs the client matrix runs
# (tests/clients): psql, psycopg2, a JDK with the PostgreSQL JDBC driver, and
# node-postgres. Idempotent: installs only what is missing. Needs root (or
# sudo) for apt-get. Usage: bash tests/clients/install.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

SUDO=""
if [ "$(id -u)" != "0" ]; then
	SUDO="sudo"
fi

missing=()
have_pkg() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

command -v psql >/dev/null 2>&1 || missing+=(postgresql-client-15)
have_pkg python3-psycopg2 || missing+=(python3-psycopg2)
if ! command -v javac >/dev/null 2>&1; then
	missing+=(default-jdk-headless)
fi
[ -f /usr/share/java/postgresql.jar ] || missing+=(libpostgresql-jdbc-java)
if ! command -v node >/dev/null 2>&1; then
	missing+=(nodejs)
fi
if ! command -v npm >/dev/null 2>&1; then
	missing+=(npm)
fi

if [ "${#missing[@]}" -gt 0 ]; then
	echo "install.sh: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq
	$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
	echo "install.sh: apt packages already present"
fi

node_major="$(node --version | sed -E 's/^v([0-9]+).*/\1/')"
if [ "$node_major" -lt 16 ]; then
	echo "install.sh: node $(node --version) is too old for pg (need >= 16)" >&2
	exit 1
fi

# node-postgres, pinned by package-lock.json.
if [ ! -d "$here/node/node_modules/pg" ] || ! cmp -s "$here/node/package-lock.json" "$here/node/node_modules/.package-lock.json.ci" ; then
	(cd "$here/node" && npm ci --no-audit --no-fund --loglevel=error)
	cp "$here/node/package-lock.json" "$here/node/node_modules/.package-lock.json.ci"
fi
echo "install.sh: client matrix ready"
