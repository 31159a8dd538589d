#!/usr/bin/env bash
# Prometheus for tests: makes sure Debian's package is installed (idempotent) and prints the
# binary's path. The Debian service is not what tests use: test/support/prometheus.ts starts its
# own server with a generated config, on a free loopback port, in a temp dir.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

ensure_apt_packages prometheus
bin=$(command -v prometheus || true)
if [ -z "$bin" ] || [ ! -x "$bin" ]; then
  echo "prometheus peer: the Debian package is installed but no prometheus binary is on PATH" >&2
  exit 1
fi
echo "$bin"
