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
# The RabbitMQ floor (Benchmarks/floor/amqp_publish.c): librabbitmq publishing the same number of
# persistent, mandatory messages of the notifier's message size to a durable queue with
# confirms (window 5,000: the notifier's max_in_flight), right after the notifier, in the same
# run; the notifier's rate is printed as a ratio to it.
WORK=$(mktemp -d /tmp/hm-bench-sinks.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
gcc -O2 -Wall -o "$WORK/amqp_publish" Benchmarks/floor/amqp_publish.c -lrabbitmq
# shellcheck disable=SC2086
"$BIN" rabbitmq --count "$COUNT" --uri "$HM_RABBITMQ_URI" ${BENCH_ARGS:-} | tee "$WORK/rabbitmq.txt"
size=$(sed -n 's/^ *message: \([0-9]*\) bytes.*/\1/p' "$WORK/rabbitmq.txt")
rate=$(sed -n 's/.* = \([0-9]*\) results\/s.*/\1/p' "$WORK/rabbitmq.txt")
vhost=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.unquote(urllib.parse.urlparse(sys.argv[1]).path[1:]) or "/")' "$HM_RABBITMQ_URI")
floor=$("$WORK/amqp_publish" 127.0.0.1 5672 "$vhost" "hm-floor-$$" "$COUNT" "$size" 5000)
echo "floor (C, librabbitmq, $size-byte persistent messages, confirms, window 5000): $floor"
python3 -c 'import sys; r, f = float(sys.argv[1]), float(sys.argv[2].split()[0]); print(f"rabbitmq notifier: {r:,.0f} results/s = {r / f:.2f} of the floor ({f:,.0f} msg/s)")' "$rate" "$floor"
# shellcheck disable=SC2086
"$BIN" mongo --count "$COUNT" --uri "$HM_MONGO_URI" ${BENCH_ARGS:-}
