#!/usr/bin/env bash
# Benchmark of the spooling notifiers: results/s the rabbitmq notifier sustains with publisher
# confirms and the mongo notifier with acknowledged (w:1) batched inserts, against the servers
# of scripts/services.sh. Not part of the test run. Release build.
#
# Usage: scripts/bench-sinks.sh [COUNT]        (default 100000 results per notifier)
#        extra sink-bench arguments via BENCH_ARGS, e.g. BENCH_ARGS="--option bulk_size=1000"
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH
COUNT=${1:-100000}
# shellcheck disable=SC1091
source scripts/env.sh
"${HM_SERVICES_SCRIPT}" status >/dev/null || { echo "servers not running: scripts/services.sh start" >&2; exit 1; }
swift build -c release --product sink-bench
BIN=$(swift build -c release --show-bin-path)/sink-bench
# shellcheck disable=SC2086
"$BIN" rabbitmq --count "$COUNT" --uri "$HM_RABBITMQ_URI" ${BENCH_ARGS:-}
# shellcheck disable=SC2086
"$BIN" mongo --count "$COUNT" --uri "$HM_MONGO_URI" ${BENCH_ARGS:-}
