#!/usr/bin/env bash
# Runs `make test` several times in a row while another process keeps one core fully busy
# (stress-ng --cpu 1, installed from Debian when missing): the suite must hold on a loaded
# two-core machine, not only on an idle one.
#
# Usage: scripts/test-stress.sh [RUNS] [--no-stress]
#   RUNS         how many `make test` runs (default 2); stops at the first failure
#   --no-stress  no load: repeat the plain suite (e.g. `scripts/test-stress.sh 5 --no-stress`)
# Prints one line per run (status, seconds) and a summary; exits non-zero if any run failed.
# Each run's output is kept in /tmp/hm-test-stress/run-N.log.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=2
stress=1
for arg in "$@"; do
  case $arg in
    --no-stress) stress=0 ;;
    ''|*[!0-9]*) echo "usage: $0 [RUNS] [--no-stress]" >&2; exit 2 ;;
    *) runs=$arg ;;
  esac
done

logs=/tmp/hm-test-stress
rm -rf "$logs"; mkdir -p "$logs"
stress_pid=
cleanup() { [[ -z $stress_pid ]] || kill "$stress_pid" 2>/dev/null || true; }
trap cleanup EXIT
if (( stress )); then
  if ! command -v stress-ng >/dev/null; then
    echo "test-stress: installing stress-ng" >&2
    sudo=(); (( EUID == 0 )) || sudo=(sudo)
    "${sudo[@]}" apt-get update -qq && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq stress-ng >/dev/null
  fi
  stress-ng --cpu 1 --cpu-method matrixprod --timeout 0 --quiet &
  stress_pid=$!
  echo "test-stress: stress-ng --cpu 1 running (pid $stress_pid)"
fi

passed=0 failed=0
for run in $(seq "$runs"); do
  start=$(date +%s)
  if make test >"$logs/run-$run.log" 2>&1; then
    result=passed; passed=$((passed + 1))
  else
    result=FAILED; failed=$((failed + 1))
  fi
  summary=$(grep -E 'Test run with' "$logs/run-$run.log" | tr '\n' ' ' | sed 's/✔ //g; s/✘ //g')
  echo "run $run: $result in $(( $(date +%s) - start )) s: $summary"
  if [[ $result == FAILED ]]; then
    grep -E '✘|test.sh:|error:' "$logs/run-$run.log" | head -20 || true
    break
  fi
done
echo "test-stress: $passed passed, $failed failed (load: $([[ $stress == 1 ]] && echo 'stress-ng --cpu 1' || echo none))"
(( failed == 0 ))
