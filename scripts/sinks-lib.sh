# shellcheck shell=bash disable=SC2034  # BIN is for the scripts that source this
# Shared by scripts/bench-sinks.sh and scripts/profile-sinks.sh: sourced, not run (from the
# repository's root, with scripts/env.sh sourced).

# ensure_servers SINK...: starts each sink's test server that is not running.
ensure_servers() {
  local sink
  for sink in "$@"; do
    "${HM_SERVICES_SCRIPT}" status "$sink" >/dev/null || "${HM_SERVICES_SCRIPT}" start "$sink"
  done
}

# sink_bench_binary: installs the Debian packages the build and the C floors need when missing
# (scripts/bootstrap.sh); BIN = the release sink-bench, built now, or SINK_BENCH=PATH, another
# sink-bench binary (e.g. a copy built from an earlier commit).
sink_bench_binary() {
  "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
  if [[ -n ${SINK_BENCH:-} ]]; then
    BIN=$SINK_BENCH
  else
    swift build -c release --static-swift-stdlib --product sink-bench
    BIN=$(swift build -c release --show-bin-path)/sink-bench
  fi
}
