#!/usr/bin/env bash
# Apache Kafka (a broker in KRaft mode: broker and controller in one JVM) for socket_trace's Kafka
# tests. Kafka is Java: its jars come from Maven Central through Maven (Debian's `maven`), the
# server artifact kafka_2.13 with its runtime dependencies (kafka-clients, kafka-server,
# kafka-raft, kafka-metadata, kafka-storage, the coordinators, scala-library, jackson...), copied
# into .tools/kafka/libs; OpenJDK 17 from Debian runs it (test/peers/openjdk.sh). Idempotent: a
# stamp names the version installed. Prints the libs directory. Tests start their own broker
# (test/support/kafka.ts) in a temp dir on free loopback ports.
# Usage: kafka.sh [install]
set -euo pipefail
KAFKA_VERSION=4.1.1
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
dir="$root/.tools/kafka"
libs="$dir/libs"
stamp="$dir/kafka.stamp"
want="org.apache.kafka:kafka_2.13:$KAFKA_VERSION"

# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"
log() { printf '[kafka peer] %s\n' "$*" >&2; }
up_to_date() { [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && compgen -G "$libs/kafka_2.13-$KAFKA_VERSION.jar" >/dev/null; }

bash "$root/test/peers/openjdk.sh" >/dev/null
if up_to_date; then
  echo "$libs"
  exit 0
fi
mkdir -p "$dir"
exec 9>"$dir/.lock"
flock 9
if up_to_date; then
  echo "$libs"
  exit 0
fi
command -v mvn >/dev/null || ensure_apt_packages maven

cat >"$dir/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>bpfcol.test</groupId>
  <artifactId>kafka-peer</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
  </dependencies>
</project>
EOF
log "fetching $want and its runtime dependencies from Maven Central"
rm -rf "$libs.new"
(cd "$dir" && mvn -B -q dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$libs.new") >"$dir/mvn.log" 2>&1 || {
  tail -30 "$dir/mvn.log" >&2
  log "maven failed; the whole log is in $dir/mvn.log"
  exit 1
}
rm -rf "$libs"
mv "$libs.new" "$libs"
echo "$want" >"$stamp"
log "installed $(ls "$libs" | wc -l) jars in $libs"
echo "$libs"
