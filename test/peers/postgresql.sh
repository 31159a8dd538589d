#!/usr/bin/env bash
# PostgreSQL for tests: makes sure Debian's postgresql (server, psql, pgbench) is installed
# (idempotent) and prints the directory of its server binaries (initdb, pg_ctl, postgres). Tests
# make their own cluster with initdb in a temp dir and start it with pg_ctl on a free loopback
# port, as the postgres user (test/support/postgres.ts); the Debian cluster is not used.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

ensure_apt_packages postgresql postgresql-contrib
id postgres >/dev/null 2>&1 || { echo "postgresql peer: no postgres user (the package creates it)" >&2; exit 1; }
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
for tool in initdb pg_ctl postgres pgbench; do
  [ -x "$bindir/$tool" ] || { echo "postgresql peer: $bindir/$tool missing" >&2; exit 1; }
done
command -v psql >/dev/null || { echo "postgresql peer: psql is not on PATH" >&2; exit 1; }
echo "$bindir"
