#!/usr/bin/env bash
# Builds the OpenTelemetry Collector that tests use as a real peer (otlp receiver; otlp, otlp_http,
# debug and file exporters) with the Collector's builder from the Go module proxy, and prints the
# binary's path. Idempotent: the binary is cached in .tools/otelcol/ and rebuilt only when
# test/peers/otelcol-builder.yaml (or the builder version) changes.
set -euo pipefail

BUILDER_VERSION=v0.161.0
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
manifest="$root/test/peers/otelcol-builder.yaml"
dir="$root/.tools/otelcol"
bin="$dir/otelcol-bpfcol"
stamp="$dir/otelcol-bpfcol.stamp"

log() { printf '[otelcol peer] %s\n' "$*" >&2; }

export PATH="/usr/local/go/bin:$PATH"
if ! command -v go >/dev/null; then
  log "Go is needed to build the OpenTelemetry Collector: install it in /usr/local/go (https://go.dev/dl/)"
  exit 1
fi

want="builder $BUILDER_VERSION $(sha256sum "$manifest" | cut -d' ' -f1)"
up_to_date() { [ -x "$bin" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; }

if up_to_date; then
  echo "$bin"
  exit 0
fi

mkdir -p "$dir"
# Tests may ask for the peer concurrently: one builds, the others wait and reuse it.
exec 9>"$dir/.lock"
flock 9
if up_to_date; then
  echo "$bin"
  exit 0
fi

builder="$dir/bin/builder"
if [ ! -x "$builder" ] || [[ "$("$builder" version 2>&1)" != *"$BUILDER_VERSION"* ]]; then
  log "installing the Collector builder $BUILDER_VERSION into $dir/bin"
  GOBIN="$dir/bin" go install "go.opentelemetry.io/collector/cmd/builder@$BUILDER_VERSION" >&2
fi

build="$dir/build"
rm -rf "$build"
mkdir -p "$build"
sed "s|^\(  output_path:\).*|\1 $build|" "$manifest" >"$build/manifest.yaml"
log "building the OpenTelemetry Collector (a few minutes the first time)"
start=$(date +%s)
"$builder" --config "$build/manifest.yaml" >"$build/build.log" 2>&1 || {
  tail -30 "$build/build.log" >&2
  log "the build failed; the whole log is in $build/build.log"
  exit 1
}
install -m 0755 "$build/otelcol-bpfcol" "$bin"
echo "$want" >"$stamp"
log "built $bin in $(($(date +%s) - start)) s"
echo "$bin"
