#!/usr/bin/env bash
# Benchmarks of the product: the release `healthmonitor` binary on a generated config, measured
# from outside (the target server's own count, /proc CPU and peak RSS, the scheduler's lag
# histogram from /metrics), each beside a floor written in C (Benchmarks/floor/) measured in the
# same run and printed as a ratio to it: absolute times move 2× from one host to the next,
# ratios do not. Default settings throughout (history on, HTTP face on, the console notifier
# with report: failure), but for the HTTP port.
#
#   scripts/bench-product.sh hostport [CHECKS=10000] [SECONDS=20]
#   scripts/bench-product.sh aged [CHECKS=10000] [SECONDS=20] [DAYS=2]   # hostport on a history DAYS old
#   scripts/bench-product.sh memory [CHECKS=10000]
#   scripts/bench-product.sh validate [CHECKS=10000]
#   scripts/bench-product.sh smoke [CHECKS=2000] [SECONDS=10]   # the regression guard of make test
#   scripts/bench-product.sh all                  # every benchmark, as `make bench` runs them
#   (ping and download: scripts/bench-product-ping.sh, scripts/bench-product-download.sh)
set -euo pipefail
source "$(dirname "$0")/bench-lib.sh"

# hostport_config FILE CHECKS PORT HTTP_PORT SLEEP: CHECKS hostport checks of 127.0.0.1:PORT.
hostport_config() {
  write_config "$1" "$4" hostport "$2" "svc{i}: {{host: 127.0.0.1, port: $3, sleep: $5}}"
}

# start_settled N SLEEP PORT [STATE]: the monitor on N hostport checks of 127.0.0.1:PORT at
# SLEEP, from an empty state directory (or a copy of STATE), 5 s after it became ready (HTTP =
# its port).
start_settled() {
  HTTP=$(free_port)
  hostport_config "$WORK/n$1.yml" "$1" "$3" "$HTTP" "$2"
  rm -rf "$WORK/state"
  [[ -z ${4:-} ]] || cp -r "$4" "$WORK/state"
  start_monitor "$WORK/n$1.yml"
  wait_http "$HTTP"
  sleep 5
}

# hostport CHECKS SECONDS [STATE]: N checks at sleep 1 against the C acceptor (from a copy of the
# state directory STATE when given); the floor is the C connect+close loop against the same
# acceptor, in the same run.
hostport() {
  local checks=${1:-10000} seconds=${2:-20} port floor
  port=$(free_port)
  start_acceptor "$port"
  floor=$(connect_floor "$port")
  start_settled "$checks" 1 "$port" "${3:-}"   # the 5 s warm-up: every check has run a few times
  measure_window "$HTTP" "$seconds" hostport 'accepted "$ACCEPTED"'
  stop_monitor
  stop_acceptor
  python3 - "$checks" "$seconds" "$N0" "$N1" "$C0" "$C1" "$RSS" "$LAG" $floor <<'PY'
import sys
checks, seconds, n0, n1, c0, c1, rss, lag, floor_us, floor_n, floor_failed = sys.argv[1:]
checks, seconds = int(checks), float(seconds)
done = int(n1) - int(n0)
us = 1e6 * (float(c1) - float(c0)) / max(done, 1)
print(f"hostport, {checks} checks at sleep 1, {seconds:.0f} s: {done / seconds:,.0f} connects/s at the acceptor "
      f"({100 * done / seconds / checks:.1f} % of the demanded {checks:,}/s)")
print(f"  CPU: {us:.1f} us per check, {100 * (float(c1) - float(c0)) / seconds:.0f} % of a core; "
      f"floor (C connect+close, same run): {float(floor_us):.1f} us; ratio {us / float(floor_us):.2f}")
print(f"  peak RSS: {float(rss):.1f} MB; scheduler lag p99: {lag}")
PY
}

# aged CHECKS SECONDS DAYS: the hostport benchmark on the history of a monitor that has run the
# same checks for DAYS days (history-gen: every 600 s through the real recorder, so each check
# has DAYS × 24 hourly rollups and DAYS × 144 raw results). A monitor runs for days: an empty
# history hides what its growth costs each write. history-gen is built from this tree even with
# HM_BIN: to compare builds, run each tree's own script (the history's layout differs).
aged() {
  local checks=${1:-10000} seconds=${2:-20} days=${3:-2} gen
  (cd "$ROOT" && swift build -c release --static-swift-stdlib --product history-gen >/dev/null)
  gen=$(cd "$ROOT" && swift build -c release --show-bin-path)/history-gen
  "$gen" "$WORK/aged" "$checks" "$days" 600 | sed 's/^/  /'
  echo "on a history $days days old:"
  hostport "$checks" "$seconds" "$WORK/aged"
}

# memory CHECKS: resident memory per configured check above the empty-config base: the monitor
# with CHECKS hostport checks at sleep 3600 (each runs once, then waits) against the same
# monitor with one, both 5 s after start. Target: ≤ 4 KB per check.
memory() {
  local checks=${1:-10000} port base full
  port=$(free_port)
  start_acceptor "$port"
  for n in 1 "$checks"; do
    start_settled "$n" 3600 "$port"
    if [[ $n == 1 ]]; then base=$(rss_mb "$MONITOR"); else full=$(rss_mb "$MONITOR"); fi
    stop_monitor
  done
  stop_acceptor
  python3 -c "import sys; b, f, n = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]); print(f'memory: {b:.1f} MB with 1 check, {f:.1f} MB with {n:,} idle hostport checks: {1024 * (f - b) / (n - 1):.2f} KB per configured check')" "$base" "$full" "$checks"
}

# validate CHECKS: `healthmonitor validate` of a CHECKS-check config, median of 5, beside the
# same command on a 1-check config (the process's start: the floor). Target: ≤ 1 s.
validate() {
  local checks=${1:-10000}
  hostport_config "$WORK/v.yml" "$checks" 9 9 1
  hostport_config "$WORK/v1.yml" 1 9 9 1
  python3 - "$BIN" "$WORK/v.yml" "$WORK/v1.yml" "$checks" <<'PY'
import subprocess, sys, time
binary, big, small, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
def median(path):
    times = []
    for _ in range(5):
        t = time.perf_counter()
        subprocess.run([binary, "validate", "--config", path], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
    return sorted(times)[2]
b, s = median(big), median(small)
print(f"validate: {b * 1000:.0f} ms for {n:,} checks (median of 5); floor, 1 check: {s * 1000:.0f} ms; ratio {b / s:.1f}")
PY
}

# smoke CHECKS SECONDS: the regression guard `make test` runs (loose bounds, so that noise never
# fails it but a 2x regression does): CHECKS hostport checks at sleep 1 for SECONDS. Fails when
# the CPU per check exceeds 3x the connect+close floor measured in the same run, or the resident
# memory per check (above the same monitor with one check, both after 5 s) exceeds 8 KB.
smoke() {
  local checks=${1:-2000} seconds=${2:-10} port floor base
  port=$(free_port)
  start_acceptor "$port"
  floor=$(connect_floor "$port")
  for n in 1 "$checks"; do
    start_settled "$n" 1 "$port"
    if [[ $n == 1 ]]; then
      base=$(rss_mb "$MONITOR")
    else
      FULL=$(rss_mb "$MONITOR")
      measure_window "$HTTP" "$seconds" hostport 'accepted "$ACCEPTED"'
    fi
    stop_monitor
  done
  stop_acceptor
  python3 - "$checks" "$seconds" "$N0" "$N1" "$C0" "$C1" "$base" "$FULL" $floor <<'PY'
import sys
checks, seconds, n0, n1, c0, c1, base, full, floor_us, floor_n, floor_failed = sys.argv[1:]
checks, seconds, done = int(checks), float(seconds), int(n1) - int(n0)
us = 1e6 * (float(c1) - float(c0)) / max(done, 1)
ratio, kb = us / float(floor_us), 1024 * (float(full) - float(base)) / (checks - 1)
print(f"smoke: {checks:,} hostport checks at sleep 1, {seconds:.0f} s: {done / seconds:,.0f} connects/s at the acceptor")
print(f"  CPU: {us:.1f} us per check; floor (C connect+close, same run): {float(floor_us):.1f} us; ratio {ratio:.2f} (bound 3)")
print(f"  memory: {float(base):.1f} MB with 1 check, {float(full):.1f} MB with {checks:,}: {kb:.2f} KB per check (bound 8)")
problems = []
if done < 0.9 * checks * seconds: problems.append(f"{done} connects in {seconds:.0f} s, fewer than 90 % of the {checks * seconds:.0f} demanded")
if ratio > 3: problems.append(f"CPU per check {ratio:.2f}x the floor, above 3x")
if kb > 8: problems.append(f"{kb:.2f} KB per check, above 8 KB")
for p in problems: print(f"smoke benchmark FAILED: {p}", file=sys.stderr)
sys.exit(1 if problems else 0)
PY
}

case ${1:-all} in
  hostport) bench_setup; shift; hostport "$@" ;;
  aged) bench_setup; shift; aged "$@" ;;
  memory) bench_setup; shift; memory "$@" ;;
  validate) bench_setup; shift; validate "$@" ;;
  # A run above a bound is measured once more, and only a second one above it fails: a 2x
  # regression fails both, while a noisy minute (a loaded host: 3.04 with stress-ng on one
  # core, against 2.2-2.6 otherwise) seldom repeats.
  smoke)
    bench_setup; shift
    smoke "$@" || { echo "smoke: above a bound; measuring once more"; smoke "$@"; } ;;
  all)
    bench_setup; hostport 10000 20; aged 10000 20 2; hostport 20000 20; memory 10000; validate 10000
    "$ROOT/scripts/bench-product-ping.sh" 5000 20
    "$ROOT/scripts/bench-product-download.sh" 1000 20 ;;
  *) echo "usage: bench-product.sh hostport|aged|memory|validate|smoke|all [ARGS]" >&2; exit 2 ;;
esac
echo "machine: $(nproc) CPUs, $(uname -r), $(date -u +%Y-%m-%d)"
