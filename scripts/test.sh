#!/usr/bin/env bash
# Runs every test: starts the real test servers, runs `swift test` with HM_SERVICES=1 (so no
# integration test may skip), then stops the servers. Extra arguments go to `swift test`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
scripts/services.sh start
trap 'scripts/services.sh stop || true' EXIT
# shellcheck disable=SC1091
source scripts/env.sh
swift build --build-tests
swift test --skip-build "$@"
