#!/usr/bin/env bash
# OpenJDK 17 from Debian for tests that run a JVM (test/ship/dashboards.test.ts's GC-heavy pod;
# jvm_usdt's tests): installs it when missing (idempotent) and prints the java binary's path.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

ensure_apt_packages openjdk-17-jdk-headless
command -v java
