#!/usr/bin/env bash
# Ping accuracy on loopback: our ICMP engine and the system's `ping -c 20 -i 0.2 127.0.0.1`, run
# at the same time, print their average round trips side by side; then the same with EXTRA more
# ping checks (to other loopback addresses) running concurrently, to show that round trips do not
# inflate when hundreds of hosts are pinged at once. Not part of the test run.
#
#   scripts/bench-ping.sh          # EXTRA = 500
#   scripts/bench-ping.sh 1000
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH
EXTRA=${1:-500}
swift build -c release --static-swift-stdlib --product healthmonitor >/dev/null
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

run() {  # $1 = number of extra concurrent ping checks
    {
        echo "notifiers: {console: {report: always}}"
        echo "settings: {state_dir: $WORK/state}"
        echo "checks:"
        echo "  ping:"
        echo "    measured: {host: 127.0.0.1, count: 20, interval: 0.2}"
        for i in $(seq 1 "$1"); do
            echo "    extra$i: {host: 127.0.$((i / 250)).$((i % 250 + 2)), count: 20, interval: 0.2}"
        done
    } > "$WORK/config.yml"
    ping -c 20 -i 0.2 127.0.0.1 > "$WORK/system.txt" &
    local system=$!
    .build/release/healthmonitor once --config "$WORK/config.yml" > "$WORK/ours.txt" 2>&1 || true
    wait "$system"
    local ours theirs
    ours=$(grep -o 'ping/measured .*' "$WORK/ours.txt" | grep -o ' avg=[0-9.]*' | head -1 | cut -d= -f2)
    theirs=$(tail -1 "$WORK/system.txt" | cut -d= -f2 | cut -d/ -f2)
    echo "with $1 other ping checks at once: healthmonitor avg ${ours} ms, ping avg ${theirs} ms," \
        "difference $(python3 -c "print(f'{abs($ours - $theirs) * 1000:.0f}')") µs"
}
echo "machine: $(nproc) CPUs, $(uname -sr)"
run 0
run "$EXTRA"
