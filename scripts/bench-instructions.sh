#!/usr/bin/env bash
# Instructions per result: the release binary under valgrind's callgrind (user space, every
# thread) on CHECKS hostport checks of a C acceptor at sleep 1, counted over a window of SECONDS
# after a warm-up, divided by the connects the acceptor counted in that window. An instruction
# count does not move with the host or with the load beside it, as CPU time does by ±15 % on
# these machines: it shows a change of a few percent in the monitor's own work, which a CPU
# benchmark cannot. It does not see the kernel (about 80 % of a hostport check's CPU) nor cache
# misses. Prints the total and the costliest functions (inclusive, per result).
#
#   scripts/bench-instructions.sh [CHECKS=500] [SECONDS=60]
#   (HM_BIN=PATH: that binary; callgrind needs it without debug info, so a stripped copy runs)
set -euo pipefail
source "$(dirname "$0")/bench-lib.sh"
command -v valgrind >/dev/null ||
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null; }
bench_setup
checks=${1:-500} seconds=${2:-60}
# valgrind cannot read this toolchain's DWARF; the symbol table is kept.
strip --strip-debug -o "$WORK/healthmonitor" "$BIN"
BIN=$WORK/healthmonitor
port=$(free_port)
start_acceptor "$port"
HTTP=$(free_port)
write_config "$WORK/c.yml" "$HTTP" hostport "$checks" "svc{i}: {{host: 127.0.0.1, port: $port, sleep: 1}}"
MONITOR_WRAPPER=(valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.out")
start_monitor "$WORK/c.yml"
# Starting under valgrind takes tens of seconds.
wait_http "$HTTP" 300
# A warm-up: every check has run a few times, and a rollup round (every 10 s) has passed.
sleep 20
callgrind_control --zero "$MONITOR" >/dev/null 2>&1
n0=$(accepted "$ACCEPTED")
sleep "$seconds"
callgrind_control --dump "$MONITOR" >/dev/null 2>&1
n1=$(accepted "$ACCEPTED")
sleep 1
profile=$(ls -t "$WORK"/callgrind.out.* | head -1)
results=$((n1 - n0))
callgrind_annotate --inclusive=yes --threshold=100 "$profile" 2>/dev/null >"$WORK/annotated"
python3 - "$WORK/annotated" "$results" "$checks" "$seconds" <<'PY'
import re, subprocess, sys
path, results, checks, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
rows = []
for line in open(path):
    m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*)$", line)
    if m:
        rows.append((int(m.group(1).replace(",", "")), m.group(2)))
total = next(n for n, what in rows if what == "PROGRAM TOTALS")
print(f"instructions, {checks} hostport checks at sleep 1, {seconds:.0f} s: {results:,} results "
      f"({results / seconds:,.0f}/s), {total / max(results, 1):,.0f} instructions per result (user space, every thread)")
names = [re.sub(r"^\S*:", "", what.split(" [")[0]) for _, what in rows]
demangled = subprocess.run(["swift-demangle", "--simplified"], input="\n".join(names), capture_output=True, text=True).stdout.split("\n")
shown = 0
# Thread entry points and closures that only wrap the rest are left out (they are 100 %).
skip = re.compile(r"^(@objc |specialized )?(clone|start_thread|thunk|partial apply|closure|DedicatedThread\.|0x)")
print("  costliest functions, inclusive, per result:")
for (n, what), name in zip(rows, demangled):
    if what == "PROGRAM TOTALS" or skip.match(name.strip()) or n < total * 0.02:
        continue
    print(f"  {n / results:>9,.0f}  {name.strip()[:110]}")
    shown += 1
    if shown == 25:
        break
PY
stop_monitor
stop_acceptor
