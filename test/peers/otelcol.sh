#!/usr/bin/env bash
# Builds the OpenTelemetry Collector that tests use as a real peer (otlp receiver; otlp, otlp_http,
# debug and file exporters) with the Collector's builder from the Go module proxy, and prints the
# binary's path. Idempotent: the binary is cached in .tools/otelcol/ and rebuilt only when
# test/peers/otelcol-builder.yaml (or the builder version) changes. Usage: otelcol.sh [install]
# (scripts/test.sh passes `install`; the binary is built either way).
set -euo pipefail

BUILDER_VERSION=v0.161.0
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
manifest="$root/test/peers/otelcol-builder.yaml"
dir="$root/.tools/otelcol"
bin="$dir/otelcol-bpfcol"
stamp="$dir/otelcol-bpfcol.stamp"

log() { printf '[otelcol peer] %s\n' "$*" >&2; }

# Go 1.26 or later builds Collector v0.161; Debian 12's is older. Use /usr/local/go or a go on PATH
# when new enough, else the Go toolchain from the Go module proxy (module golang.org/toolchain,
# what GOTOOLCHAIN downloads) unpacked into .tools/go.
GO_MIN_MINOR=26
GO_TOOLCHAIN=go1.26.8
go_is_new_enough() {
  local v
  v=$("$1" env GOVERSION 2>/dev/null) || return 1
  [[ "$v" =~ ^go1\.([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -ge "$GO_MIN_MINOR" ]
}
find_go() {
  local candidate
  for candidate in "$root/.tools/go/bin/go" /usr/local/go/bin/go "$(command -v go || true)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] && go_is_new_enough "$candidate"; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}
install_go() {
  local zip url tmp
  zip="v0.0.1-$GO_TOOLCHAIN.linux-$(dpkg --print-architecture 2>/dev/null || echo amd64).zip"
  url="https://proxy.golang.org/golang.org/toolchain/@v/$zip"
  log "no Go 1.$GO_MIN_MINOR+ found: fetching $GO_TOOLCHAIN from the Go module proxy into .tools/go"
  . "$root/scripts/lib.sh"
  ensure_apt_packages curl unzip ca-certificates
  tmp=$(mktemp -d)
  curl -fsSL --retry 3 -o "$tmp/go.zip" "$url"
  unzip -q "$tmp/go.zip" -d "$tmp/unpacked"
  rm -rf "$root/.tools/go"
  mkdir -p "$root/.tools"
  mv "$tmp/unpacked/golang.org/toolchain@v0.0.1-$GO_TOOLCHAIN".* "$root/.tools/go"
  rm -rf "$tmp"
  # Module zips carry no file modes.
  chmod +x "$root/.tools/go/bin/"* "$root/.tools/go/pkg/tool/"*/*
}

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

go_bin=$(find_go) || { install_go && go_bin=$(find_go); } || {
  log "could not find or install Go 1.$GO_MIN_MINOR+"
  exit 1
}
export PATH="$(dirname "$go_bin"):$PATH"
# Never let go switch toolchains behind our back: the one found above is new enough.
export GOTOOLCHAIN=local

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
