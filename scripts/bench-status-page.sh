#!/usr/bin/env bash
# Time of the status page `/` and of a badge, measured with curl against the release binary on a
# large generated history: CHECKS hostport checks every SLEEP seconds for DAYS days (written
# through the real recorder by history-gen), served by `healthmonitor run` whose checks are the
# same keys. The first load computes everything; the next ones reuse the 7, 30 and 90 day
# reports and the days before today (StatusPageCache) and read the rest.
#
# Usage: scripts/bench-status-page.sh [CHECKS] [DAYS] [SLEEP]      (default 100 90 300)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH
CHECKS=${1:-100}
DAYS=${2:-90}
SLEEP=${3:-300}
swift build -c release --static-swift-stdlib --product healthmonitor >/dev/null
swift build -c release --static-swift-stdlib --product history-gen >/dev/null
BIN=$(swift build -c release --show-bin-path)
WORK=$(mktemp -d /tmp/hm-bench-page.XXXXXX)
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
MONITOR=
trap '[ -n "$MONITOR" ] && kill "$MONITOR" 2>/dev/null; rm -rf "$WORK"' EXIT
mkdir -p "$WORK/state"
"$BIN/history-gen" "$WORK/state" "$CHECKS" "$DAYS" "$SLEEP"
{
  printf 'settings: {state_dir: %s/state, http: {listen: "127.0.0.1:%s"}}\nchecks:\n  hostport:\n' "$WORK" "$PORT"
  # The checks run rarely: the figures are the page's, not the checks'.
  for i in $(seq 0 $((CHECKS - 1))); do printf '    svc%s: {host: 127.0.0.1, port: 1, sleep: 3600}\n' "$i"; done
  printf 'notifiers:\n  console: {report: failure}\n'
} >"$WORK/c.yml"
"$BIN/healthmonitor" run --config "$WORK/c.yml" >"$WORK/out.log" 2>&1 &
MONITOR=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
echo "machine: $(nproc) vCPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%d)"
for i in 1 2 3 4 5 6; do
  curl -s -o "$WORK/page.html" -w "/ load $i: %{time_total} s, %{size_download} bytes\n" "http://127.0.0.1:$PORT/"
done
grep -c '<article class="check' "$WORK/page.html" | awk '{print "checks on the page: " $1}'
for window in 24h 7d 90d; do
  curl -s -o /dev/null -w "/badge/hostport/svc1/uptime.svg?window=$window: %{time_total} s\n" "http://127.0.0.1:$PORT/badge/hostport/svc1/uptime.svg?window=$window"
done
curl -s -o /dev/null -w "/badge/hostport/svc1/latency.svg: %{time_total} s\n" "http://127.0.0.1:$PORT/badge/hostport/svc1/latency.svg"
