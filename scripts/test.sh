#!/usr/bin/env bash
# Installs everything (as scripts/setup.sh, plus the test peers) and runs the whole test suite:
# the type check, then every test file with node's test runner. Needs root: the eBPF tests load
# programs into the running kernel.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. scripts/lib.sh
use_project_node

log "preparing test peers"
for peer in test/peers/*.sh; do
  [ -f "$peer" ] && bash "$peer" install
done

log "type check"
npx tsc --noEmit -p .

mkdir -p test-artifacts
log "running tests"
# One file at a time: tests start real servers and load kernel programs.
mapfile -t files < <(git ls-files --cached --others --exclude-standard '*.test.ts' | sort)
node --test --test-concurrency=1 --test-timeout=600000 --test-reporter=spec "$@" "${files[@]}"
