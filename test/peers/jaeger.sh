#!/usr/bin/env bash
# Builds Jaeger (the v2 binary, `jaeger`, an OpenTelemetry-Collector-based all-in-one with an
# in-memory store and the query API) from its Go module and prints the binary's path.
# `go install github.com/jaegertracing/jaeger/cmd/jaeger@<version>` refuses: Jaeger's go.mod has a
# replace directive. So the module is fetched from the Go module proxy with `go mod download`
# and built as the main module (where its replace applies). Idempotent: cached in .tools/jaeger/.
# Usage: jaeger.sh [install] (scripts/test.sh passes `install`; the binary is built either way).
set -euo pipefail

# Module version v1.76.0 carries Jaeger v2's cmd/jaeger (Jaeger tags v1.x and v2.x together).
JAEGER_MODULE=github.com/jaegertracing/jaeger
JAEGER_VERSION=v1.76.0
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
dir="$root/.tools/jaeger"
bin="$dir/bin/jaeger"
stamp="$dir/jaeger.stamp"
want="$JAEGER_MODULE@$JAEGER_VERSION"

log() { printf '[jaeger peer] %s\n' "$*" >&2; }

up_to_date() { [ -x "$bin" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; }
if up_to_date; then
  echo "$bin"
  exit 0
fi

mkdir -p "$dir/bin"
exec 9>"$dir/.lock"
flock 9
if up_to_date; then
  echo "$bin"
  exit 0
fi

# Go 1.24+ (Jaeger's go.mod): the one otelcol.sh finds or installs into .tools/go.
find_go() {
  local candidate v
  for candidate in "$root/.tools/go/bin/go" /usr/local/go/bin/go "$(command -v go || true)"; do
    [ -n "$candidate" ] && [ -x "$candidate" ] || continue
    v=$("$candidate" env GOVERSION 2>/dev/null) || continue
    if [[ "$v" =~ ^go1\.([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -ge 24 ]; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}
go_bin=$(find_go) || { bash "$root/test/peers/otelcol.sh" >/dev/null && go_bin=$(find_go); } || {
  log "could not find or install Go 1.24+"
  exit 1
}
export PATH="$(dirname "$go_bin"):$PATH"
export GOTOOLCHAIN=local

log "fetching $want from the Go module proxy"
src=$(go mod download -json "$want" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')
[ -n "$src" ] && [ -d "$src" ] || { log "go mod download $want gave no directory"; exit 1; }
build="$dir/build"
rm -rf "$build"
cp -r "$src" "$build"
chmod -R u+w "$build"
log "building cmd/jaeger (several minutes the first time)"
start=$(date +%s)
(cd "$build" && go build -o "$bin.new" ./cmd/jaeger) >"$dir/build.log" 2>&1 || {
  tail -30 "$dir/build.log" >&2
  log "the build failed; the whole log is in $dir/build.log"
  exit 1
}
mv "$bin.new" "$bin"
rm -rf "$build"
echo "$want" >"$stamp"
log "built $bin in $(($(date +%s) - start)) s"
echo "$bin"
