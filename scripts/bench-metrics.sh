#!/usr/bin/env bash
# Time to render /metrics for many checks, measured from outside on the release binary: a
# generated config of CHECKS random checks (every 60 s; each has run once before timing), then
# 20 GETs of /metrics timed by curl itself (time_total, median), against a floor measured in
# the same run: 20 GETs of /readyz (same server, connection and process; a trivial route).
#
# Usage: scripts/bench-metrics.sh [CHECKS]      (default 10000)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH
CHECKS=${1:-10000}
swift build -c release --static-swift-stdlib --product healthmonitor >/dev/null
BIN=$(swift build -c release --show-bin-path)/healthmonitor
WORK=$(mktemp -d /tmp/hm-bench-metrics.XXXXXX)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 - "$WORK" "$CHECKS" "$PORT" <<'PY'
import sys
work, n, port = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(f"{work}/c.yml", "w") as f:
    f.write(f"settings: {{state_dir: {work}/state, http: {{listen: '127.0.0.1:{port}'}}, history: {{enabled: false}}}}\n")
    f.write("checks:\n  random:\n")
    for i in range(n):
        f.write(f"    c{i}: {{sleep: 60}}\n")
    f.write("notifiers:\n  console: {report: failure, format: json}\n")
PY
"$BIN" run --config "$WORK/c.yml" >"$WORK/out.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 1 300); do
  curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done
# Every check has a result: its up gauge is in the exposition.
for _ in $(seq 1 300); do
  n=$(curl -s "http://127.0.0.1:$PORT/metrics" | grep -c '^healthmonitor_check_up{' || true)
  [[ $n -ge $CHECKS ]] && break
  sleep 0.5
done
curl -s "http://127.0.0.1:$PORT/metrics" >"$WORK/metrics.txt"
echo "metrics: $(grep -c '^healthmonitor_check_up{' "$WORK/metrics.txt") checks, $(wc -l <"$WORK/metrics.txt") lines, $(wc -c <"$WORK/metrics.txt") bytes"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
times() { # times PATH: 20 curl time_total values in seconds
  for _ in $(seq 1 20); do curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$PORT$1"; done
}
floor=$(times /readyz | median)
full=$(times /metrics | median)
python3 -c "import sys; f, m = float(sys.argv[1]), float(sys.argv[2]); print(f'/metrics for {sys.argv[3]} checks: {m * 1000:.1f} ms (median of 20); floor /readyz: {f * 1000:.2f} ms; ratio {m / f:.0f}')" "$floor" "$full" "$CHECKS"
echo "machine: $(nproc) CPUs, $(uname -r)"
