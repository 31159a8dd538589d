#!/usr/bin/env bash
# nginx and its load generators for tests: makes sure Debian's nginx, curl and wrk are installed
# (idempotent) and prints nginx's path. Tests start their own nginx (test/support/nginx.ts) with a
# generated config in a temp dir, on a free loopback port; the Debian service is not used.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

ensure_apt_packages nginx curl wrk
for tool in nginx curl wrk; do
  command -v "$tool" >/dev/null || { echo "nginx peer: $tool is not on PATH although its package is installed" >&2; exit 1; }
done
command -v nginx
