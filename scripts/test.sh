#!/usr/bin/env bash
# Runs every test: starts the real test servers, runs `swift test` with HM_SERVICES=1 (so no
# integration test may skip), then stops the servers. Extra arguments go to `swift test`.
#
# Seven stages: the unit tests, the config fuzzing (scripts/fuzz-config.py), the real-time tests,
# the DNS outage test (scripts/test-dns-outage.sh), the agents in network namespaces
# (scripts/test-cluster-netns.sh), the integration tests (apart, so their child
# processes and server restarts do not compete with the unit tests for the two cores), then the
# smoke benchmark. A `swift test` stage fails the script when a test fails or when any test was
# skipped: under `make test` and CI every test must run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
scripts/services.sh start
# A host that never answers ping, on this machine (the ping deadline tests): no test packet
# leaves the machine.
scripts/silent-host.sh up >/dev/null
# Every scratch file of the run (the tests make a directory each under TMPDIR, SwiftPM its own)
# in one directory, removed at the end: hundreds of directories a run were left in /tmp before.
SCRATCH=$(mktemp -d /tmp/hm-tests.XXXXXX)
export TMPDIR=$SCRATCH
trap 'scripts/services.sh stop || true; scripts/silent-host.sh down || true; rm -rf "$SCRATCH"' EXIT
# shellcheck disable=SC1091
source scripts/env.sh
# libmongoc (initialised before main()) keeps its counters in /dev/shm/mongoc-PID, which a
# process killed with SIGKILL never removes: the crash tests kill hundreds, and a later process
# that gets a reused PID prints "Falling back to malloc for counters". Counters in memory for the
# tests, and the files earlier runs left behind removed (only those of dead processes).
export MONGOC_DISABLE_SHM=1
for f in /dev/shm/mongoc-*; do
  [[ -e $f ]] || continue
  pid=${f##*-}
  [[ $pid =~ ^[0-9]+$ && ! -d /proc/$pid ]] && rm -f "$f"
done
swift build
swift build --build-tests

LOG_DIR=$(mktemp -d /tmp/hm-test-log.XXXXXX)
# run_stage NAME ARGS...: runs `swift test ARGS`, keeps its output, fails on a skipped test.
run_stage() {
  local name=$1; shift
  local log="$LOG_DIR/$name.log"
  swift test --skip-build "$@" 2>&1 | tee "$log"
  local skipped
  skipped=$(grep -E '^.{0,4}Test .* skipped' "$log" || true)
  if [[ -n $skipped ]]; then
    echo "test.sh: $name: tests were skipped, but under make test every test must run:" >&2
    echo "$skipped" >&2
    return 1
  fi
}
run_stage unit --skip IntegrationTests --skip RealTimeTests "$@"
# `healthmonitor validate` on seeded mutations of the example configs for 30 s (FUZZ_SEED=N for
# other inputs): a crash, a run over 1 s or an exit code other than 0 or 2 fails, and the input
# is kept in .build/fuzz/.
scripts/fuzz-config.py --seconds 30 .build/debug/healthmonitor
# The real-time tests (real deadlines, see Tests/MonitorTests/RealTimeTests.swift) in a stage of
# their own: in the same run, CPU-heavy tests (property tests, the spool's random operations)
# held the two cooperative threads and a 1 s shutdown deadline took 10.8 s under ThreadSanitizer.
run_stage realtime --filter RealTimeTests "$@"
# A resolver that never answers (a network namespace of its own; needs root and iproute2):
# lookups fail with error dns at the check's timeout, checks by address keep their schedule.
command -v ip >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >/dev/null; }
scripts/test-dns-outage.sh .build/debug/healthmonitor
# Agents as separate hosts: one per location in a network namespace of its own, reaching the
# broker over a veth link; each sees only its own network.
scripts/test-cluster-netns.sh .build/debug/healthmonitor
# Headless Chromium renders `report --format html` in ReportCommandTests (and takes a screenshot).
command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
# A real Prometheus server scrapes /metrics in a test, and promtool lints the exposition. The
# package's own service is not started (no init system here; the test runs its own server).
{ command -v prometheus >/dev/null && command -v promtool >/dev/null; } ||
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }
# The certificate tests (TLSCertificateTests) make a CA and certificates with python3-cryptography,
# valid, expiring, expired, self-signed and for another host, at test time.
/usr/bin/python3 -c 'import cryptography' 2>/dev/null ||
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-cryptography >/dev/null; }
run_stage integration --filter IntegrationTests "$@"
# The smoke benchmark: the release binary with 2,000 hostport checks for 10 s fails the run when
# its CPU per check exceeds 3x a C connect+close loop measured in the same run, or its memory
# 8 KB per check (scripts/bench-product.sh smoke; loose bounds, so noise never fails it but a 2x
# regression does). Under the benchmarks' lock, never beside a benchmark. Needs gcc and curl.
{ command -v gcc >/dev/null && command -v curl >/dev/null; } ||
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc libc6-dev curl >/dev/null; }
flock /tmp/hm-bench.lock scripts/bench-product.sh smoke
rm -rf "$LOG_DIR"
