#!/usr/bin/env bash
# MariaDB for tests: makes sure Debian's mariadb-server and mariadb-client are installed
# (idempotent) and prints mariadbd's path. Tests make their own data dir with mariadb-install-db
# in a temp dir and start mariadbd on a free loopback port and socket (test/support/mariadb.ts);
# the Debian service is not used.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

ensure_apt_packages mariadb-server mariadb-client
for tool in mariadbd mariadb-install-db mariadb; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || { echo "mariadb peer: $tool is not on PATH" >&2; exit 1; }
done
command -v mariadbd || echo /usr/sbin/mariadbd
