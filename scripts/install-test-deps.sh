#!/usr/bin/env bash
# Installs, only where missing, what the tests need on a Debian machine:
# PostgreSQL 15 (server for differential tests, psql) and the client programs
# of the wire-protocol matrix (psycopg2, JDK + JDBC driver, node-postgres).
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
missing=()
for p in postgresql-15 postgresql-client-15; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
bash tests/clients/install.sh
