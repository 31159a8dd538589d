#!/usr/bin/env bash
# Installs everything bpfcol needs on a Debian 12 machine, as root: Debian packages,
# Node 24 (into .tools/, the machine's Node stays as it is), npm packages, and the
# kernel-side objects. Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

# shellcheck source=scripts/lib.sh
. scripts/lib.sh

log "checking Debian packages"
ensure_apt_packages $(grep -v '^#' scripts/apt-packages.txt)

log "checking Node ${NODE_MAJOR}"
ensure_node

log "checking npm packages"
stamp=node_modules/.bpfcol-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi

if [ -f bpf/Makefile ]; then
  log "building kernel-side objects and the native addon"
  make -s -C bpf NODE_DIR="$(node_dir)"
fi
log "setup done (node $(node --version))"
