#!/usr/bin/env bash
# Redis for tests: makes sure Debian's redis-server (with redis-cli and redis-benchmark) is
# installed (idempotent) and prints redis-server's path. Tests start their own server
# (test/support/redis.ts) on a free loopback port in a temp dir; the Debian service is not used.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

ensure_apt_packages redis-server redis-tools
for tool in redis-server redis-cli redis-benchmark; do
  command -v "$tool" >/dev/null || { echo "redis peer: $tool is not on PATH although its package is installed" >&2; exit 1; }
done
command -v redis-server
