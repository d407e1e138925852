#!/usr/bin/env bash
# Product benchmark of the `ping` check: the release `healthmonitor` binary pinging TARGETS
# distinct loopback addresses (127.0.X.Y, X = i / 250, Y = i % 250 + 2) at `sleep: 1, count: 1`,
# measured from outside over SECONDS after a warm-up: CPU per check result (/proc CPU delta over
# the results delta in /metrics), loss (failed results over results: must be 0), the echo
# replies the kernel sent (/proc/net/snmp OutEchoReps: the count at the target), peak RSS and the
# scheduler's lag p99. Beside it, in the same run, the floor: Benchmarks/floor/icmp.c doing the
# same echoes (TARGETS a second to the same addresses) from C; the CPU is printed as a ratio to
# it (absolute times move 2× between hosts, ratios do not). Target: ≤ 2× the floor, loss 0.
# Default settings (history on, HTTP face on, the console notifier with report: failure) but
# for the HTTP port. Run it as root (raw ICMP sockets) and alone: `flock /tmp/hm-bench.lock`.
#
#   scripts/bench-product-ping.sh [TARGETS=5000] [SECONDS=20]
set -euo pipefail
source "$(dirname "$0")/bench-lib.sh"

# echo_replies: echo replies the kernel has sent (every ICMP echo request it answered).
echo_replies() {
  awk '/^Icmp:/ { if (!n) { for (i = 1; i <= NF; i++) if ($i == "OutEchoReps") col = i; n = 1 } else print $col }' /proc/net/snmp
}

# ping_bench TARGETS SECONDS: the C floor, then the monitor's ping checks, in one run.
ping_bench() {
  local targets=${1:-5000} seconds=${2:-20} http floor
  http=$(free_port)
  floor=$("$WORK/icmp" "$targets" "$seconds" 2>"$WORK/icmp.log") || {
    echo "the ICMP floor failed: $floor $(cat "$WORK/icmp.log")" >&2; exit 1; }
  # A reply on loopback takes microseconds: `wait` and `timeout` of 1 s (not ping's 10 and 30)
  # keep a lost reply from holding its check past its next slot.
  write_config "$WORK/c.yml" "$http" ping "$targets" \
    'p{i}: {{host: 127.0.{i // 250}.{i % 250 + 2}, count: 1, wait: 1, timeout: 1, sleep: 1}}'
  start_monitor "$WORK/c.yml"
  wait_http "$http"
  sleep 5   # warm-up: every check has run a few times
  measure_window "$http" "$seconds" ping echo_replies
  stop_monitor
  python3 - "$targets" "$seconds" "$T0" "$T1" $R0 $R1 "$N0" "$N1" "$C0" "$C1" "$RSS" "$LAG" $floor "$(cat "$WORK/icmp.log")" <<'PY'
import sys
targets, seconds, t0, t1, s0, f0, s1, f1, e0, e1, c0, c1, rss, lag, floor_us, floor_n, floor_lost, floor_note = sys.argv[1:]
targets, seconds, elapsed = int(targets), float(seconds), float(t1) - float(t0)
ok, failed = int(s1) - int(s0), int(f1) - int(f0)
done, echoes, cpu = ok + failed, int(e1) - int(e0), float(c1) - float(c0)
us = 1e6 * cpu / max(done, 1)
print(f"ping, {targets} checks of distinct loopback addresses at sleep 1, count 1, {seconds:.0f} s: "
      f"{done / elapsed:,.0f} results/s ({100 * done / elapsed / targets:.1f} % of the demanded {targets:,}/s), "
      f"{echoes / elapsed:,.0f} echo replies/s from the kernel")
print(f"  loss: {failed / max(done, 1):.4f} ({failed:,} of {done:,} results failed); "
      f"floor: {int(floor_lost):,} lost of {int(floor_n) + int(floor_lost):,}")
print(f"  CPU: {us:.1f} us per check, {100 * cpu / seconds:.0f} % of a core; "
      f"floor (C ICMP echo round trip, {targets:,}/s, same run): {float(floor_us):.1f} us; ratio {us / float(floor_us):.2f}")
print(f"  peak RSS: {float(rss):.1f} MB; scheduler lag p99: {lag}")
print(f"  floor run: {floor_note}")
PY
  show_monitor_problems
}

bench_setup
floor_build icmp
ping_bench "$@"
echo "machine: $(nproc) CPUs, $(uname -r), $(date -u +%Y-%m-%d)"
