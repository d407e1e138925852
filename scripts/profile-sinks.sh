#!/usr/bin/env bash
# Where a spooling notifier's time goes: `sink-bench SINK` (release build) under
# `perf record -e cpu-clock -g` (valgrind/callgrind cannot read this toolchain's debug info, and
# this VM has no hardware counters), then the top entries by self time, and the CPU each of the
# process's threads used (from /proc/PID/task/*/stat, sampled just before the process ends).
#
# Usage: scripts/profile-sinks.sh rabbitmq|mongo [COUNT] [sink-bench arguments...]
#        (default 60000 results, sustained; e.g. `--burst`); SINK_BENCH=PATH profiles that binary
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH
SINK=${1:?usage: scripts/profile-sinks.sh rabbitmq|mongo [COUNT] [sink-bench arguments...]}
COUNT=${2:-60000}
shift $(($# >= 2 ? 2 : 1))
# shellcheck disable=SC1091
source scripts/env.sh
# shellcheck disable=SC1091
source scripts/sinks-lib.sh
ensure_servers "$SINK"
sink_bench_binary
URI=$HM_RABBITMQ_URI
[[ $SINK == mongo ]] && URI=$HM_MONGO_URI
WORK=$(mktemp -d /tmp/hm-profile-sinks.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
TICKS=$(getconf CLK_TCK)

perf record -q -e cpu-clock -g -o "$WORK/perf.data" -- "$BIN" "$SINK" --count "$COUNT" --uri "$URI" "$@" &
PERF=$!
# The benchmark's pid (perf's child), then its threads' CPU until it ends.
# Its process name: the binary's file name, as the kernel keeps it (at most 15 characters).
NAME=$(basename "$BIN" | cut -c1-15)
PID=
for _ in $(seq 100); do
  PID=$(pgrep -P "$PERF" -x "$NAME" || true)
  [[ -n $PID ]] && break
  sleep 0.05
done
# Per thread (by id), the highest CPU seen: a thread that ends before the process keeps its last.
while [[ -n $PID && -d /proc/$PID ]]; do
  for t in /proc/"$PID"/task/*; do
    # comm may hold spaces: the fields after the closing parenthesis (utime 14, stime 15).
    stat=$(cat "$t/stat" 2>/dev/null) || continue
    comm=$(tr ' ' '_' <"$t/comm" 2>/dev/null || echo "?")
    rest=${stat##*) }
    read -r -a f <<<"$rest"
    echo "${t##*/} $comm ${f[11]} ${f[12]}"
  done >>"$WORK/threads.txt"
  sleep 0.2
done
wait "$PERF"
echo "--- CPU per thread (seconds, user+system; threads of one name added up)"
awk -v hz="$TICKS" '{ t = ($3 + $4) / hz; if (t > best[$1]) { best[$1] = t; name[$1] = $2 } }
  END { for (id in best) cpu[name[id]] += best[id]; for (n in cpu) printf "%-24s %6.2f\n", n, cpu[n] }' "$WORK/threads.txt" | sort -k2 -rn
# (head ends the pipes early: their SIGPIPE is not a failure.)
echo "--- perf: top entries by self time (all threads)"
perf report -i "$WORK/perf.data" --no-children --sort symbol --stdio 2>/dev/null | grep -E '^ +[0-9.]+%' | cut -c1-160 | head -25 || true
echo "--- perf: by thread"
perf report -i "$WORK/perf.data" --no-children --sort comm --stdio 2>/dev/null | grep -E '^ +[0-9.]+%' | head -10 || true
