#!/usr/bin/env bash
# DNS outage test: a resolver that never answers, 1,000 hostport checks by name (and a few
# download checks by name), and checks by address that must keep their schedule meanwhile.
#
#   scripts/test-dns-outage.sh [BINARY]      # default .build/debug/healthmonitor (build it first)
#
# Needs root (network namespaces), iproute2 and python3. Everything runs inside a network
# namespace of its own, with only `lo`: /etc/netns/NS/resolv.conf points glibc at 127.0.0.1:53,
# where a UDP socket reads every query and answers none (`options timeout:30 attempts:1`, so
# each getaddrinfo hangs 30 s). /etc/netns/NS/hosts and nsswitch.conf make sure nothing but that
# resolver is asked. Two runs of `healthmonitor run` (console notifier, `format: json`,
# `report: always`), HM_DNS_SECONDS each:
#   1. baseline: the by-address checks alone;
#   2. outage:   the same plus HM_DNS_NAME_CHECKS checks by name.
# It passes when every hostport result by name has measurement.error "dns" and elapsed <= timeout
# + 0.5 s, every download by name failed within timeout + 0.5 s (libcurl resolves those itself),
# every by-name check ran, and the by-address checks (hostport against a TCP acceptor, download
# from a local HTTP server) all succeeded, missed no run and kept their schedule: scheduling lag
# p99 in the outage run at most HM_DNS_LAG_SLACK_MS above the baseline.
# Lag is read from the results' `created` (the run's start, milliseconds): for each check, run k
# is planned at first + k * sleep, so lag_k = (created_k - k * sleep) - min over j of the same,
# with `created` (wall clock) moved to the monotonic clock by samples of both taken meanwhile.
# Prints the figures and PASS or FAIL; exits 1 on FAIL. HM_DNS_KEEP=1 keeps the results and logs. Takes about 2 * HM_DNS_SECONDS + 20 s.
set -euo pipefail
cd "$(dirname "$0")/.."

BINARY=$(realpath "${1:-.build/debug/healthmonitor}")
NAME_CHECKS=${HM_DNS_NAME_CHECKS:-1000}
ADDRESS_CHECKS=${HM_DNS_ADDRESS_CHECKS:-50}
DOWNLOAD_CHECKS=${HM_DNS_DOWNLOAD_CHECKS:-5}    # download checks by address, and twice as many by name
RUN_SECONDS=${HM_DNS_SECONDS:-30}
TIMEOUT=${HM_DNS_TIMEOUT:-2}             # the by-name checks' timeout
NAME_SLEEP=${HM_DNS_NAME_SLEEP:-5}
ADDRESS_SLEEP=${HM_DNS_ADDRESS_SLEEP:-1}
LAG_SLACK_MS=${HM_DNS_LAG_SLACK_MS:-50}
NS=hm-dns-$$
PORT=8080                                # inside the namespace, so no clash with the host's ports
HTTP_PORT=8081

fail() { echo "test-dns-outage: FAIL: $*" >&2; exit 1; }
[ -x "$BINARY" ] || fail "no healthmonitor binary at $BINARY (run 'swift build' first, or pass its path)"
[ "$(id -u)" -eq 0 ] || fail "needs root (ip netns)"
command -v ip >/dev/null || fail "needs iproute2 (apt-get install iproute2)"
command -v python3 >/dev/null || fail "needs python3"

WORK=$(mktemp -d /tmp/hm-dns-outage.XXXXXX)
cleanup() {
    # Only this test's processes live in the namespace.
    for pid in $(ip netns pids "$NS" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    ip netns delete "$NS" 2>/dev/null || true
    rm -rf "/etc/netns/$NS"
    if [ -n "${HM_DNS_KEEP:-}" ]; then echo "test-dns-outage: results kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
in_ns() { ip netns exec "$NS" "$@"; }

ip netns add "$NS"
ip -n "$NS" link set lo up
mkdir -p "/etc/netns/$NS"
printf 'nameserver 127.0.0.1\noptions timeout:30 attempts:1\n' > "/etc/netns/$NS/resolv.conf"
printf '127.0.0.1 localhost\n::1 localhost\n' > "/etc/netns/$NS/hosts"
sed 's/^hosts:.*/hosts: files dns/' /etc/nsswitch.conf > "/etc/netns/$NS/nsswitch.conf"
[ -S /var/run/nscd/socket ] && echo "test-dns-outage: warning: nscd is running; its cache may answer" >&2

# The resolver that never answers: reads and counts queries.
cat > "$WORK/blackhole.py" <<'EOF'
import signal, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
count = 0
def report(*_):
    with open(sys.argv[1], "w") as f: f.write(f"{count}\n")
    sys.exit(0)
signal.signal(signal.SIGTERM, report)
print("listening", flush=True)
while True:
    s.recv(4096)
    count += 1
EOF
# Started directly (not through a function) so that $! is the process itself, and signals reach it.
ip netns exec "$NS" python3 "$WORK/blackhole.py" "$WORK/queries" > "$WORK/blackhole.log" 2>&1 &
BLACKHOLE=$!
ip netns exec "$NS" python3 scripts/bench_acceptor.py "$PORT" > "$WORK/acceptor.log" 2>&1 &
mkdir -p "$WORK/www"
head -c 1000 /dev/zero > "$WORK/www/file.bin"
ip netns exec "$NS" python3 -m http.server "$HTTP_PORT" --bind 127.0.0.1 --directory "$WORK/www" > "$WORK/http.log" 2>&1 &
for _ in $(seq 100); do
    grep -q listening "$WORK/blackhole.log" 2>/dev/null && grep -q listening "$WORK/acceptor.log" 2>/dev/null &&
        ip netns exec "$NS" python3 -c "import socket; socket.create_connection(('127.0.0.1', $HTTP_PORT), 1)" 2>/dev/null && break
    sleep 0.1
done
grep -q listening "$WORK/blackhole.log" || fail "the black-hole resolver did not start: $(cat "$WORK/blackhole.log")"
grep -q listening "$WORK/acceptor.log" || fail "the TCP acceptor did not start: $(cat "$WORK/acceptor.log")"
ip netns exec "$NS" python3 -c "import socket; socket.create_connection(('127.0.0.1', $HTTP_PORT), 1)" 2>/dev/null ||
    fail "the HTTP server did not start: $(cat "$WORK/http.log")"
# The outage must be real: a lookup in the namespace hangs instead of failing fast.
if in_ns timeout 2 getent ahosts check-0.hm-dns-test.example >/dev/null 2>&1; then
    fail "check-0.hm-dns-test.example resolved inside the namespace"
elif [ $? -ne 124 ]; then
    fail "a lookup inside the namespace failed at once instead of hanging (is 127.0.0.1:53 answering?)"
fi

# config PHASE WITH_NAMES
write_config() {
    {
        echo "notifiers:"
        echo "  console:"
        echo "    format: json"
        echo "    report: always"
        echo "    queue_size: 100000"
        echo "checks:"
        echo "  hostport:"
        for i in $(seq 0 $((ADDRESS_CHECKS - 1))); do
            printf '    addr-%d: {host: 127.0.0.1, port: %d, timeout: 2, sleep: %s}\n' "$i" "$PORT" "$ADDRESS_SLEEP"
        done
        if [ "$2" = yes ]; then
            for i in $(seq 0 $((NAME_CHECKS - 1))); do
                printf '    name-%d: {host: check-%d.hm-dns-test.example, port: 80, timeout: %s, sleep: %s}\n' "$i" "$i" "$TIMEOUT" "$NAME_SLEEP"
            done
        fi
        echo "  download:"
        for i in $(seq 0 $((DOWNLOAD_CHECKS - 1))); do
            printf "    addr-dl-%d: {url: 'http://127.0.0.1:%d/file.bin', timeout: 2, sleep: %s}\n" "$i" "$HTTP_PORT" "$ADDRESS_SLEEP"
        done
        if [ "$2" = yes ]; then
            for i in $(seq 0 $((2 * DOWNLOAD_CHECKS - 1))); do
                printf "    name-dl-%d: {url: 'http://dl-%d.hm-dns-test.example:%d/file.bin', timeout: %s, sleep: %s}\n" "$i" "$i" "$HTTP_PORT" "$TIMEOUT" "$NAME_SLEEP"
            done
        fi
    } > "$WORK/$1.yml"
}

# run PHASE: healthmonitor run for RUN_SECONDS, then SIGTERM (a background job of a script
# ignores SIGINT); results in PHASE.jsonl.
run_phase() {
    mkdir -p "$WORK/state-$1"
    # The wall clock beside the monotonic one every 50 ms: `created` is wall-clock time, and this
    # machine's wall clock is slewed (0.5 % fast here) and stepped (by 26 s once, mid-run) by its
    # host. The lags are computed on the monotonic time line.
    python3 -c '
import sys, time
with open(sys.argv[1], "w", buffering=1) as out:
    while True:
        out.write(f"{time.time() * 1000:.3f} {time.monotonic() * 1000:.3f}\n")
        time.sleep(0.05)
' "$WORK/$1.clock" &
    local clock=$!
    ip netns exec "$NS" "$BINARY" run --config "$WORK/$1.yml" --state-dir "$WORK/state-$1" > "$WORK/$1.jsonl" 2> "$WORK/$1.log" &
    local pid=$!
    sleep "$RUN_SECONDS"
    # Peak memory (the lookup queue is bounded, so it must not grow with the outage).
    awk '/VmHWM/ {print $2}' "/proc/$pid/status" > "$WORK/$1.rss" 2>/dev/null || echo 0 > "$WORK/$1.rss"
    awk '/Threads/ {print $2}' "/proc/$pid/status" > "$WORK/$1.threads" 2>/dev/null || echo 0 > "$WORK/$1.threads"
    kill -TERM "$pid"
    local waited=0
    while kill -0 "$pid" 2>/dev/null; do
        sleep 0.1
        waited=$((waited + 1))
        [ "$waited" -lt 300 ] || { kill -9 "$pid"; fail "$1: healthmonitor did not stop within 30 s of SIGTERM"; }
    done
    wait "$pid" || fail "$1: healthmonitor exited with $? (log: $(tail -5 "$WORK/$1.log"))"
    { kill "$clock" && wait "$clock"; } 2>/dev/null || true
    echo "$((waited * 100))" > "$WORK/$1.stop_ms"
}

write_config baseline no
write_config outage yes
echo "test-dns-outage: baseline: $ADDRESS_CHECKS hostport and $DOWNLOAD_CHECKS download checks by address, ${RUN_SECONDS} s"
run_phase baseline
echo "test-dns-outage: outage: + $NAME_CHECKS hostport and $((2 * DOWNLOAD_CHECKS)) download checks by name (timeout $TIMEOUT s, sleep $NAME_SLEEP s), ${RUN_SECONDS} s"
run_phase outage
kill -TERM "$BLACKHOLE"
wait "$BLACKHOLE" 2>/dev/null || true

python3 - "$WORK" "$NAME_CHECKS" "$((ADDRESS_CHECKS + DOWNLOAD_CHECKS))" "$TIMEOUT" "$ADDRESS_SLEEP" "$RUN_SECONDS" "$LAG_SLACK_MS" "$((2 * DOWNLOAD_CHECKS))" <<'EOF'
import bisect, collections, datetime, json, sys

work, name_checks, address_checks, download_names = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[8])
timeout, address_sleep, run_seconds, slack_ms = float(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6]), float(sys.argv[7])
problems = []

def load(phase):
    results = []
    with open(f"{work}/{phase}.jsonl") as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                results.append(json.loads(line))
    return results

def millis(created):
    return datetime.datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp() * 1000

def monotonic(phase):
    """Maps a wall-clock time (ms) of PHASE to the monotonic clock, by the offset of the clock
    sample nearest to it (see run_phase): slews and steps of the wall clock drop out."""
    samples = []
    with open(f"{work}/{phase}.clock") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2:
                samples.append((float(parts[0]), float(parts[1])))
    samples.sort()
    walls = [w for w, _ in samples]
    def convert(wall):
        i = bisect.bisect_left(walls, wall)
        nearest = min((j for j in (i - 1, i) if 0 <= j < len(samples)), key=lambda j: abs(walls[j] - wall))
        return wall - (samples[nearest][0] - samples[nearest][1])
    return convert

def percentile(values, p):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]

def address_figures(phase, results):
    to_monotonic = monotonic(phase)
    runs = collections.defaultdict(list)
    for r in results:
        if r["label"].startswith("addr-"):  # hostport addr-N and download addr-dl-N
            runs[r["label"]].append(r)
            if r["status"] != "success":
                problems.append(f"{phase}: {r['label']} failed: {r['message']}")
    if len(runs) != address_checks:
        problems.append(f"{phase}: {len(runs)} of {address_checks} by-address checks reported")
    lags = []
    # The first runs are spread over one period, the last may be cut by the stop: at least
    # run_seconds / sleep - 2 runs each.
    expected = int(run_seconds / address_sleep) - 2
    fewest = min((len(v) for v in runs.values()), default=0)
    if fewest < expected:
        problems.append(f"{phase}: a by-address check ran {fewest} times, expected at least {expected}")
    for label, rs in runs.items():
        starts = sorted(to_monotonic(millis(r["created"])) for r in rs)
        offsets = [t - k * address_sleep * 1000 for k, t in enumerate(starts)]
        base = min(offsets)
        lags += [o - base for o in offsets]
    return sum(len(v) for v in runs.values()), fewest, lags

baseline, outage = load("baseline"), load("outage")
base_runs, base_fewest, base_lags = address_figures("baseline", baseline)
out_runs, out_fewest, out_lags = address_figures("outage", outage)

names = [r for r in outage if r["check"] == "hostport" and r["label"].startswith("name-")]
downloads = [r for r in outage if r["check"] == "download" and r["label"].startswith("name-")]
not_dns = [r for r in names if r["measurement"].get("error") != "dns"]
late = [r for r in names if r["elapsed"] > timeout + 0.5]
labels = {r["label"] for r in names}
timed_out = sum(1 for r in names if "did not answer within" in r["message"])
queue_full = sum(1 for r in names if "lookup queue full" in r["message"])
max_elapsed = max((r["elapsed"] for r in names), default=float("nan"))
if not names:
    problems.append("outage: no by-name results")
if not_dns:
    problems.append(f"outage: {len(not_dns)} by-name results without error dns, e.g. {not_dns[0]['message']!r} {not_dns[0]['measurement']}")
if late:
    problems.append(f"outage: {len(late)} by-name results took longer than {timeout + 0.5} s (max {max_elapsed:.3f} s)")
if len(labels) != name_checks:
    problems.append(f"outage: {len(labels)} of {name_checks} by-name checks reported")

download_labels = {r["label"] for r in downloads}
if len(download_labels) != download_names:
    problems.append(f"outage: {len(download_labels)} of {download_names} download checks by name reported")
bad_downloads = [r for r in downloads if r["status"] != "failure" or r["elapsed"] > timeout + 0.5]
if bad_downloads:
    problems.append(f"outage: {len(bad_downloads)} downloads by name did not fail within {timeout + 0.5} s, e.g. {bad_downloads[0]['elapsed']:.3f} s: {bad_downloads[0]['message']!r}")

p99_base, p99_out = percentile(base_lags, 99), percentile(out_lags, 99)
if not p99_out <= p99_base + slack_ms:
    problems.append(f"lag p99 {p99_out:.0f} ms in the outage vs {p99_base:.0f} ms without (allowed +{slack_ms:.0f} ms)")

def read(name, default="?"):
    try:
        return open(f"{work}/{name}").read().strip()
    except OSError:
        return default

print(f"by name:    {len(names)} hostport results from {len(labels)} of {name_checks} checks; "
      f"{len(names) - len(not_dns)} with error dns ({timed_out} 'did not answer', {queue_full} 'queue full'); "
      f"elapsed max {max_elapsed:.3f} s, p99 {percentile([r['elapsed'] for r in names], 99):.3f} s (limit {timeout + 0.5:g} s)")
for sample in ({r["message"] for r in names if "did not answer" in r["message"]}, {r["message"] for r in names if "queue full" in r["message"]}):
    if sample:
        print(f"            e.g. {min(sample)}")
print(f"            {len(downloads)} download results from {len(download_labels)} checks, "
      f"{sum(r['status'] == 'failure' for r in downloads)} failed, elapsed max {max((r['elapsed'] for r in downloads), default=float('nan')):.3f} s"
      + (f"; e.g. {downloads[0]['message']}" if downloads else ""))
print(f"by address: baseline {base_runs} runs (fewest per check {base_fewest}), outage {out_runs} runs (fewest {out_fewest}); "
      f"lag p50/p99/max baseline {percentile(base_lags, 50):.0f}/{p99_base:.0f}/{max(base_lags, default=0):.0f} ms, "
      f"outage {percentile(out_lags, 50):.0f}/{p99_out:.0f}/{max(out_lags, default=0):.0f} ms")
print(f"resolver:   {read('queries')} queries reached the black hole; "
      f"peak RSS baseline {int(read('baseline.rss', '0')) // 1024} MiB, outage {int(read('outage.rss', '0')) // 1024} MiB; "
      f"threads at the end baseline {read('baseline.threads')}, outage {read('outage.threads')}; "
      f"stop after SIGTERM baseline {read('baseline.stop_ms')} ms, outage {read('outage.stop_ms')} ms")
if problems:
    for p in problems:
        print(f"  - {p}")
    print("test-dns-outage: FAIL")
    sys.exit(1)
print("test-dns-outage: PASS")
EOF
