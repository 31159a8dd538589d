#!/usr/bin/env bash
# Installs everything and runs bpfcol with the default pipeline (config/default.yaml), or with
# the config files given as arguments.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ $# -eq 0 ]; then set -- --config config/default.yaml; fi
exec bin/bpfcol "$@"
