#!/usr/bin/env bash
# Runs every test: starts the real test servers, runs `swift test` with HM_SERVICES=1 (so no
# integration test may skip), then stops the servers. Extra arguments go to `swift test`.
#
# Two runs: the unit tests first, then the integration tests. Several unit tests check timing
# (scheduler grid, timers, ping deadlines); they run alone so the integration tests' child
# processes and server restarts do not starve them of the two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
scripts/services.sh start
trap 'scripts/services.sh stop || true' EXIT
# shellcheck disable=SC1091
source scripts/env.sh
swift build
swift build --build-tests
swift test --skip-build --skip IntegrationTests "$@"
swift test --skip-build --filter IntegrationTests "$@"
