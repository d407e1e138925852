#!/usr/bin/env bash
# Benchmark of the spooling notifiers against C floors measured in the same run: results/s the
# rabbitmq notifier sustains with publisher confirms and the mongo notifier with acknowledged,
# journaled batched inserts, sustained and in a burst (everything handed over at once, so most
# of it spills to the spool files and is read back), each printed as a ratio to its floor:
#
#   rabbitmq   Benchmarks/floor/amqp_publish.c: librabbitmq publishing the same number of
#              persistent, mandatory messages of the notifier's message size through a durable
#              fanout exchange (the notifier's default exchange_type) bound to a durable queue,
#              with publisher confirms (window 5,000: the notifier's max_in_flight).
#   mongo      Benchmarks/floor/mongo_insert.c: libmongoc insert_many of the same number of
#              documents of the notifier's shape and size, in batches of the notifier's bulk_size
#              (500), unordered, {w: 1, j: true}, into a collection with the notifier's two indexes.
#
# Needs the test servers (scripts/services.sh start rabbitmq / mongo; started here when down).
# Not part of the test run. Release build.
#
# Each sink runs ROUNDS rounds (default 5) of: notifier sustained, floor, notifier burst. A
# round's ratios are to its own floor; the figure is the median of the rounds' ratios (a single
# run of 2 s moves by a tenth either way on a shared machine: the broker's speed drifts).
#
# Usage: scripts/bench-sinks.sh [COUNT] [SINKS]   (default 30000 results per run; SINKS
#        "rabbitmq mongo"); ROUNDS=N for another number of rounds
#        extra sink-bench arguments via BENCH_ARGS, e.g. BENCH_ARGS="--option bulk_size=1000";
#        SINK_BENCH=PATH runs that sink-bench binary instead of building one
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH
COUNT=${1:-30000}
SINKS=${2:-rabbitmq mongo}
ROUNDS=${ROUNDS:-5}
# shellcheck disable=SC1091
source scripts/env.sh
# shellcheck disable=SC1091
source scripts/sinks-lib.sh
# shellcheck disable=SC2086
ensure_servers $SINKS
sink_bench_binary
WORK=$(mktemp -d /tmp/hm-bench-sinks.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
gcc -O2 -Wall -o "$WORK/amqp_publish" Benchmarks/floor/amqp_publish.c -lrabbitmq
# shellcheck disable=SC2046
gcc -O2 -Wall -o "$WORK/mongo_insert" Benchmarks/floor/mongo_insert.c $(pkg-config --cflags --libs libmongoc-1.0)
echo "host: $(nproc) CPU(s) $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(date -u +%F), load $(cut -d' ' -f1-3 /proc/loadavg)"

# The floor's vhost: the one in the notifier's URI.
VHOST=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.unquote(urllib.parse.urlparse(sys.argv[1]).path[1:]) or "/")' "$HM_RABBITMQ_URI")

# notifier SINK MODE ROUND: runs sink-bench; prints its output and keeps it in
# $WORK/SINK-MODE-ROUND.txt.
notifier() {
  local flag=()
  [[ $2 == burst ]] && flag=(--burst)
  local uri=$HM_RABBITMQ_URI
  [[ $1 == mongo ]] && uri=$HM_MONGO_URI
  # shellcheck disable=SC2086
  "$BIN" "$1" --count "$COUNT" --uri "$uri" "${flag[@]}" ${BENCH_ARGS:-} | tee "$WORK/$1-$2-$3.txt"
}
rate_of() { sed -n 's/.* = \([0-9]*\) results\/s.*/\1/p' "$WORK/$1-$2-$3.txt"; }
size_of() { sed -n 's/^ *message: \([0-9]*\) bytes.*/\1/p' "$WORK/$1-sustained-1.txt"; }

# floor SINK ROUND: runs the sink's C floor with the notifier's message size; keeps its line.
floor() {
  local size
  size=$(size_of "$1")
  if [[ $1 == rabbitmq ]]; then
    "$WORK/amqp_publish" 127.0.0.1 5672 "$VHOST" "hm-floor-$$" "$COUNT" "$size" 5000 fanout >"$WORK/$1-floor-$2.txt"
    echo "floor (C, librabbitmq, $size-byte persistent messages through a fanout exchange, confirms, window 5000): $(cat "$WORK/$1-floor-$2.txt")"
  else
    "$WORK/mongo_insert" "$HM_MONGO_URI" "hm_floor_$$" "$COUNT" "$size" 500 >"$WORK/$1-floor-$2.txt"
    echo "floor (C, libmongoc insert_many, $size-byte documents, batches of 500, w:1 j:true, two indexes): $(cat "$WORK/$1-floor-$2.txt")"
  fi
}

for sink in $SINKS; do
  for round in $(seq "$ROUNDS"); do
    echo "--- $sink, round $round of $ROUNDS"
    notifier "$sink" sustained "$round"
    floor "$sink" "$round"
    notifier "$sink" burst "$round"
  done
done
# One line per sink and mode: each round's rate, floor and ratio, and the median ratio.
for sink in $SINKS; do
  for mode in sustained burst; do
    rounds=()
    for round in $(seq "$ROUNDS"); do
      rounds+=("$(rate_of "$sink" "$mode" "$round"):$(cut -d' ' -f1 "$WORK/$sink-floor-$round.txt")")
    done
    python3 -c '
import statistics, sys
sink, mode, runs = sys.argv[1], sys.argv[2], [tuple(map(float, r.split(":"))) for r in sys.argv[3:]]
ratios = [r / f for r, f in runs]
each = ", ".join(f"{r:,.0f}/s of {f:,.0f}/s = {r / f:.2f}" for r, f in runs)
print(f"RATIO {sink} {mode}: median {statistics.median(ratios):.2f} of the floor over {len(runs)} rounds ({each})")
' "$sink" "$mode" "${rounds[@]}"
  done
done
