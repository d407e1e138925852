#!/usr/bin/env bash
# Scale benchmark: N hostport checks (sleep 1 s) against a loopback acceptor for SECONDS seconds,
# every result to a counting notifier. Prints results/s achieved vs demanded, CPU per check,
# peak RSS and scheduling lag. Not part of the test run.
#
#   scripts/bench-hostport.sh              # N = 1,000 and 10,000, 30 s each
#   scripts/bench-hostport.sh 10000 60     # one N, another duration
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH
SECONDS_RUN=${2:-30}
PORT=${BENCH_PORT:-9999}
HOSTS=${BENCH_HOSTS:-127.0.0.1}

swift build -c release --static-swift-stdlib --product HostPortBenchmark >/dev/null
python3 scripts/bench_acceptor.py "$PORT" ${HOSTS//,/ } > /tmp/hm-bench-acceptor.log 2>&1 &
ACCEPTOR=$!
trap 'kill "$ACCEPTOR" 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q listening /tmp/hm-bench-acceptor.log 2>/dev/null && break; sleep 0.1; done

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -sr)"
for N in ${1:-1000 10000}; do
    .build/release/HostPortBenchmark --checks "$N" --seconds "$SECONDS_RUN" --port "$PORT" --hosts "$HOSTS"
    echo
done
echo "acceptor CPU (not included above): $(ps -o time= -p "$ACCEPTOR")"
