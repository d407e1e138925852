# Shared by the product benchmarks (scripts/bench-*.sh): sourced, not run. Builds the release
# binary and the C floors, and reads a running monitor from outside (/proc and /metrics).
export PATH=/opt/swift/usr/bin:$PATH
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TICKS=$(getconf CLK_TCK)

# bench_setup: installs the Debian packages the build and the C floors need when missing
# (scripts/bootstrap.sh), builds the release binary (BIN) and makes WORK, removed at exit.
# HM_BIN=PATH measures that healthmonitor binary instead (e.g. one built from an earlier commit).
bench_setup() {
  "$ROOT/scripts/bootstrap.sh"
  if [[ -n ${HM_BIN:-} ]]; then
    BIN=$HM_BIN
  else
    (cd "$ROOT" && swift build -c release --static-swift-stdlib --product healthmonitor >/dev/null)
    BIN=$(cd "$ROOT" && swift build -c release --show-bin-path)/healthmonitor
  fi
  WORK=$(mktemp -d /tmp/hm-bench.XXXXXX)
  BENCH_PIDS=()
  # `|| true`: errexit holds in traps, and a process may be gone already.
  # BENCH_CLEANUP: a command a benchmark adds (run last).
  trap 'for p in "${BENCH_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; eval "${BENCH_CLEANUP:-}"' EXIT
}

# floor_build NAME [LIBS...]: compiles Benchmarks/floor/NAME.c to $WORK/NAME.
floor_build() {
  local name=$1; shift
  gcc -O2 -Wall -o "$WORK/$name" "$ROOT/Benchmarks/floor/$name.c" "$@"
}

# free_port: a TCP port free on loopback now, below the kernel's ephemeral range, so that no
# outgoing connection (thousands of them in a hostport benchmark) can take it before the server
# that is given it binds it.
free_port() {
  python3 - <<'PY'
import random, socket
low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
for _ in range(200):
    port = random.randrange(10000, max(10001, low))
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    break
else:
    raise SystemExit("free_port: no free port below the ephemeral range")
PY
}

# cpu_seconds PID: user + system CPU of the process so far.
cpu_seconds() { awk -v t="$TICKS" '{ sub(/^.*\) /, ""); print ($12 + $13) / t }' "/proc/$1/stat"; }
# io_calls PID: read and write system calls so far (syscr + syscw of /proc/PID/io: read, recv,
# write, send and their kin). switches PID: context switches so far, voluntary and not, summed
# over the live threads.
io_calls() { awk '/^sysc[rw]:/ { n += $2 } END { print n }' "/proc/$1/io"; }
switches() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/ctxt_switches:/ { n += $2 } END { print n }'; }
# peak_rss_mb PID / rss_mb PID: peak and current resident memory (VmHWM, VmRSS) in MB.
peak_rss_mb() { awk '/^VmHWM:/ { print $2 / 1024 }' "/proc/$1/status"; }
rss_mb() { awk '/^VmRSS:/ { print $2 / 1024 }' "/proc/$1/status"; }

# accepted COUNT_FILE: the acceptor's count of accepted connections.
accepted() { python3 -c 'import struct,sys; print(struct.unpack("<Q", open(sys.argv[1], "rb").read(8))[0])' "$1"; }

# start_acceptor PORT: the C acceptor on 127.0.0.1:PORT (ACCEPTOR = its pid), counting into
# $WORK/accepted-PORT (ACCEPTED = that file: `accepted "$ACCEPTED"`); stop_acceptor ends it.
start_acceptor() {
  [[ -x $WORK/acceptor ]] || floor_build acceptor
  ACCEPTED=$WORK/accepted-$1
  "$WORK/acceptor" "$1" "$ACCEPTED" >"$WORK/acceptor.log" 2>&1 &
  ACCEPTOR=$!
  BENCH_PIDS+=($ACCEPTOR)
  for _ in $(seq 50); do grep -q listening "$WORK/acceptor.log" 2>/dev/null && return; sleep 0.1; done
  echo "acceptor did not start: $(cat "$WORK/acceptor.log")" >&2; exit 1
}
stop_acceptor() { kill "$ACCEPTOR" 2>/dev/null || true; wait "$ACCEPTOR" 2>/dev/null || true; }

# connect_floor PORT: the hostport floor, 3 s of the C connect+close loop against the acceptor
# on PORT: "US_PER_CONNECT COUNT FAILED".
connect_floor() {
  [[ -x $WORK/connect ]] || floor_build connect
  "$WORK/connect" 127.0.0.1 "$1" 3
}

# start_monitor CONFIG: runs the release binary on CONFIG in the background (MONITOR = its pid).
start_monitor() {
  # MONITOR_WRAPPER: a command the monitor runs under (an array, e.g. valgrind and its options).
  ${MONITOR_WRAPPER[@]+"${MONITOR_WRAPPER[@]}"} "$BIN" run --config "$1" >"$WORK/monitor.log" 2>&1 &
  MONITOR=$!
  BENCH_PIDS+=($MONITOR)
}

# stop_monitor: ends the monitor started by start_monitor (SIGTERM) and waits for it.
stop_monitor() { kill -TERM "$MONITOR"; wait "$MONITOR" 2>/dev/null || true; }

# wait_http PORT [SECONDS=30]: until the monitor's /readyz answers.
wait_http() {
  for _ in $(seq $((${2:-30} * 10))); do curl -sf "http://127.0.0.1:$1/readyz" >/dev/null 2>&1 && return; sleep 0.1; done
  echo "the monitor did not become ready: $(tail -5 "$WORK/monitor.log")" >&2; exit 1
}

# scrape PORT FILE: the monitor's /metrics into FILE.
scrape() { curl -sf "http://127.0.0.1:$1/metrics" >"$2"; }

# check_results TYPE FILE: "SUCCESSES FAILURES" of the checks of TYPE in a /metrics scrape.
check_results() {
  awk -v type="$1" '$0 ~ "^healthmonitor_check_results_total\\{check=\"" type "\"," {
         if ($1 ~ /status="success"/) s += $2; else if ($1 ~ /status="failure"/) f += $2 }
       END { printf "%d %d\n", s, f }' "$2"
}

# lag_lines FILE: "le count" lines of the scheduler's lag histogram (cumulative) in a /metrics scrape.
lag_lines() {
  sed -n 's/^healthmonitor_scheduler_lag_seconds_bucket{le="\([^"]*\)"} \([0-9.e+]*\)$/\1 \2/p' "$1"
}

# lag_p99 BEFORE_FILE AFTER_FILE: the bucket bound holding the 99th percentile of the runs
# between two lag_lines readings ("≤ 0.005" means p99 ≤ 5 ms), with the runs counted.
lag_p99() {
  python3 - "$1" "$2" <<'PY'
import sys
def read(p):
    return {le: float(c) for le, c in (line.split() for line in open(p) if line.strip())}
a, b = read(sys.argv[1]), read(sys.argv[2])
rows = sorted(((float("inf") if le == "+Inf" else float(le), b[le] - a.get(le, 0)) for le in b))
total = rows[-1][1] if rows else 0
bound = next((le for le, c in rows if c >= 0.99 * total), float("inf")) if total else float("nan")
print(f"{'≤ %g ms' % (bound * 1000) if bound != float('inf') else '> the top bucket'} ({int(total)} runs)")
PY
}

# write_config FILE HTTP_PORT TYPE COUNT ENTRY: a config of COUNT checks of TYPE, default settings
# but for the state directory and the HTTP port, the console notifier with report: failure.
# ENTRY is one check's line as a Python f-string of `i` (YAML braces doubled), e.g.
# 'c{i}: {{host: 127.0.0.1, port: 9, sleep: 1}}'.
write_config() {
  python3 - "$@" "$WORK/state" <<'PY'
import sys
path, http, kind, n, entry, state = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6]
line = compile("f" + repr(entry), "entry", "eval")
with open(path, "w") as f:
    f.write(f"settings: {{state_dir: {state}, http: {{listen: '127.0.0.1:{http}'}}}}\n")
    f.write(f"checks:\n  {kind}:\n")
    for i in range(n):
        f.write("    " + eval(line, {"i": i}) + "\n")
    f.write("notifiers:\n  console: {report: failure}\n")
PY
}

# measure_window HTTP_PORT SECONDS TYPE COUNT_COMMAND: one window of SECONDS on the running
# monitor ($MONITOR). A /metrics scrape at each end, outside the CPU window (a scrape of
# thousands of checks is megabytes: the benchmark's load, not the checks'), so the results and
# lag are those at each scrape's start, and rates run from T0 to T1. Sets T0 T1, N0 N1 (what
# COUNT_COMMAND prints: the count at the target), C0 C1 (CPU seconds), R0 R1 ("SUCCESSES
# FAILURES" of the checks of TYPE), RSS (peak, MB) and LAG (p99, from lag_p99).
measure_window() {
  local http=$1 seconds=$2 type=$3 count=$4
  T0=$(date +%s.%N); N0=$(eval "$count"); scrape "$http" "$WORK/m0"; C0=$(cpu_seconds "$MONITOR")
  sleep "$seconds"
  C1=$(cpu_seconds "$MONITOR"); T1=$(date +%s.%N); N1=$(eval "$count"); scrape "$http" "$WORK/m1"
  lag_lines "$WORK/m0" >"$WORK/lag0"; lag_lines "$WORK/m1" >"$WORK/lag1"
  RSS=$(peak_rss_mb "$MONITOR"); LAG=$(lag_p99 "$WORK/lag0" "$WORK/lag1")
  R0=$(check_results "$type" "$WORK/m0"); R1=$(check_results "$type" "$WORK/m1")
}

# show_monitor_problems: the monitor log's errors and warnings, if any (the first 5).
show_monitor_problems() {
  if grep -qiE 'error|warn|fatal' "$WORK/monitor.log"; then
    echo "  monitor.log ($(grep -ciE 'error|warn|fatal' "$WORK/monitor.log") lines of errors or warnings), first 5:"
    grep -iE 'error|warn|fatal' "$WORK/monitor.log" | head -5 | sed 's/^/    /'
  fi
}
