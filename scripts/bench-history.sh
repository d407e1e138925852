#!/usr/bin/env bash
# CPU cost of the history recorder, measured from outside on the release binary: 100 random
# checks every 10 ms (about 10,000 results/s), once with settings.history on and once off (the
# floor, same run), each for DURATION seconds after a warm-up. Prints CPU per result of the whole
# process for both, the difference, and the CPU of the recorder's own thread ("history", read
# from /proc/PID/task/TID/stat) per result: the direct figure, free of the run-to-run noise of
# the whole process.
#
# Usage: scripts/bench-history.sh [DURATION]      (default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH
DURATION=${1:-20}
swift build -c release --static-swift-stdlib --product healthmonitor >/dev/null
BIN=$(swift build -c release --show-bin-path)/healthmonitor
WORK=$(mktemp -d /tmp/hm-bench-history.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
TICKS=$(getconf CLK_TCK)

# cpu_seconds PID: user + system CPU of the process so far.
cpu_seconds() { awk -v t="$TICKS" '{ sub(/^.*\) /, ""); print ($12 + $13) / t }' "/proc/$1/stat"; }
# beat DIR: "time_ms results" of the heartbeat (written every 10 s).
beat() { python3 -c 'import json,sys; b=json.load(open(sys.argv[1])); print(b["time_ms"], b["results"])' "$1/state/heartbeat.json"; }
# thread_cpu PID NAME: CPU seconds of the process's thread called NAME (0 when none).
thread_cpu() {
  local task
  for task in /proc/$1/task/*; do
    if [[ $(cat "$task/comm" 2>/dev/null) == "$2" ]]; then
      awk -v t="$TICKS" '{ sub(/^.*\) /, ""); print ($12 + $13) / t }' "$task/stat"; return
    fi
  done
  echo 0
}
# sample DIR PID: waits for a fresh heartbeat, then prints "results cpu_seconds history_cpu".
sample() {
  local old new
  old=$(beat "$1" 2>/dev/null | cut -d' ' -f1) || old=0
  while new=$(beat "$1" 2>/dev/null | cut -d' ' -f1) && [[ $new == "$old" || -z $new ]]; do sleep 0.05; done
  echo "$(beat "$1" | cut -d' ' -f2) $(cpu_seconds "$2") $(thread_cpu "$2" history)"
}

run() { # run NAME ENABLED: prints and saves the CPU microseconds per result
  local dir=$WORK/$1
  mkdir -p "$dir"
  {
    echo "settings: {state_dir: $dir/state, history: {enabled: $2}}"
    echo "checks:"
    echo "  random:"
    for i in $(seq 0 99); do echo "    r$i: {sleep: 0.01, mark: 0}"; done
    echo "notifiers:"
    echo "  console: {report: failure}"
  } >"$dir/c.yml"
  "$BIN" run --config "$dir/c.yml" >"$dir/out.log" 2>&1 &
  local pid=$!
  sleep 2
  sample "$dir" $pid >/dev/null   # warm-up: the first heartbeat
  local first last
  first=$(sample "$dir" $pid)
  sleep $(( DURATION - 10 ))
  last=$(sample "$dir" $pid)
  kill -TERM $pid; wait $pid || true
  python3 - "$1" $first $last "$WORK/$1.us" <<'PY'
import sys
name, r0, c0, h0, r1, c1, h1, out = sys.argv[1], *map(float, sys.argv[2:8]), sys.argv[8]
us = 1e6 * (c1 - c0) / (r1 - r0)
line = f"{name}: {r1 - r0:.0f} results, {c1 - c0:.2f} s of CPU, {us:.2f} us of CPU per result"
if h1 > 0:
    line += f"; the history thread: {h1 - h0:.2f} s, {1e6 * (h1 - h0) / (r1 - r0):.2f} us per result"
print(line)
open(out, "w").write(str(us))
PY
}

run history-off false
run history-on true
python3 - "$WORK/history-off.us" "$WORK/history-on.us" <<'PY'
import sys
off, on = (float(open(p).read()) for p in sys.argv[1:3])
print(f"whole process, on minus off: {on - off:.2f} us of CPU per result (on/off ratio {on / off:.2f})")
PY
