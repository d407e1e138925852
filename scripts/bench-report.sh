#!/usr/bin/env bash
# Time of `healthmonitor report` on a large generated history, measured from outside on the
# release binary: 100 hostport checks every 60 s for 30 days (4.3 M results written through the
# real recorder; raw results kept for the last 7 days, hourly rollups for all 30), then
# `report --since 30d` (JSON) three times, against a floor measured in the same run: the same
# report over the last minute only (start-up, config, opening the store). Then the same with
# --format html.
#
# Usage: scripts/bench-report.sh [CHECKS] [DAYS]      (default 100 30)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH
CHECKS=${1:-100}
DAYS=${2:-30}
swift build -c release --static-swift-stdlib --product healthmonitor >/dev/null
swift build -c release --static-swift-stdlib --product history-gen >/dev/null
BIN=$(swift build -c release --show-bin-path)
WORK=$(mktemp -d /tmp/hm-bench-report.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/state"
printf 'settings: {state_dir: %s/state}\nchecks:\n  random:\n    x: {}\nnotifiers:\n  console: {}\n' "$WORK" >"$WORK/c.yml"
"$BIN/history-gen" "$WORK/state" "$CHECKS" "$DAYS" 60
ls -la "$WORK/state/history.sqlite" | awk '{print "history.sqlite: " $5 " bytes"}'
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
timed() { # timed ARGS...: seconds of one run
  python3 -c 'import subprocess, sys, time
t = time.monotonic()
with open(sys.argv[1], "w") as out:
    subprocess.run(sys.argv[2:], stdout=out, stderr=subprocess.STDOUT, check=True)
print(time.monotonic() - t)' "$WORK/out" "$BIN/healthmonitor" report --config "$WORK/c.yml" "$@"
}
floor=$(for _ in 1 2 3; do timed --since 1m --format json; done | median)
full=$(for _ in 1 2 3; do timed --since "${DAYS}d" --format json; done | median)
python3 - "$WORK/out" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
results = sum(c["results"] for c in report["checks"])
print(f"report --since: {len(report['checks'])} checks, {results} results in the window")
PY
python3 -c "import sys; f, r = float(sys.argv[1]), float(sys.argv[2]); print(f'report over {sys.argv[3]} days: {r:.3f} s (median of 3); floor (last minute): {f:.3f} s; ratio {r / f:.1f}')" "$floor" "$full" "$DAYS"
# The HTML page also reads 90 days of rollups per check for its daily bars and latency chart.
html=$(for _ in 1 2 3; do timed --since "${DAYS}d" --format html; done | median)
python3 -c "import sys; f, r = float(sys.argv[1]), float(sys.argv[2]); print(f'report --format html over {sys.argv[3]} days: {r:.3f} s (median of 3); ratio to the floor {r / f:.1f}')" "$floor" "$html" "$DAYS"
grep -c '<section' "$WORK/out" | awk '{print "html: " $1 " check sections"}'
