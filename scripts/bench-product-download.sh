#!/usr/bin/env bash
# Product benchmark of the `download` check: the release `healthmonitor` binary running RATE
# download checks at `sleep: 1` of one 10 KB file served by a local nginx (a foreground process
# with its own config, paths and logs in $WORK), measured from outside over SECONDS after a
# warm-up: CPU per download (/proc CPU delta over the requests nginx logged), failed results
# (/metrics), peak RSS and the scheduler's lag p99. Beside it, in the same run and against the
# same nginx, the floor: Benchmarks/floor/curlmulti.c fetching the same URL RATE times a second
# through libcurl's multi interface; the CPU is printed as a ratio to it (absolute times move 2×
# between hosts, ratios do not). Target: ≤ 2× the floor. Default settings (history on, HTTP face
# on, the console notifier with report: failure) but for the HTTP port. Needs nginx (installed
# with apt-get when missing, as root). Run it alone: `flock /tmp/hm-bench.lock`.
#
#   scripts/bench-product-download.sh [RATE=1000] [SECONDS=20]
set -euo pipefail
source "$(dirname "$0")/bench-lib.sh"

# start_nginx PORT: nginx on 127.0.0.1:PORT serving $WORK/www/10k.bin, one process in the
# foreground (no master, no user switch: it reads $WORK, which is private), one line per request
# (its status) in $WORK/nginx/access.log.
start_nginx() {
  command -v nginx >/dev/null || PATH=$PATH:/usr/sbin
  if ! command -v nginx >/dev/null; then
    apt-get install -y --no-install-recommends nginx >/dev/null 2>&1 \
      || { apt-get update >/dev/null && apt-get install -y --no-install-recommends nginx >/dev/null; }
  fi
  mkdir -p "$WORK/www" "$WORK/nginx"
  head -c 10240 /dev/urandom >"$WORK/www/10k.bin"
  cat >"$WORK/nginx/nginx.conf" <<EOF
daemon off;
master_process off;
worker_rlimit_nofile 16384;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 8192; }
http {
  log_format status '\$status';
  access_log $WORK/nginx/access.log status;
  client_body_temp_path $WORK/nginx/client_body;
  proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi;
  uwsgi_temp_path $WORK/nginx/uwsgi;
  scgi_temp_path $WORK/nginx/scgi;
  default_type application/octet-stream;
  sendfile on;
  server { listen 127.0.0.1:$1; root $WORK/www; }
}
EOF
  nginx -p "$WORK/nginx" -e "$WORK/nginx/error.log" -c "$WORK/nginx/nginx.conf" >"$WORK/nginx/stdout.log" 2>&1 &
  BENCH_PIDS+=($!)
  for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$1/10k.bin" && return; sleep 0.1; done
  echo "nginx did not start: $(cat "$WORK/nginx/error.log" "$WORK/nginx/stdout.log")" >&2; exit 1
}

# served: requests nginx has logged so far.
served() { wc -l <"$WORK/nginx/access.log"; }

# download_bench RATE SECONDS: the C floor, then the monitor's download checks, against one nginx.
download_bench() {
  local rate=${1:-1000} seconds=${2:-20} port http url floor
  port=$(free_port); http=$(free_port)
  url="http://127.0.0.1:$port/10k.bin"
  start_nginx "$port"
  floor=$("$WORK/curlmulti" "$url" "$rate" "$seconds" 2>"$WORK/curlmulti.log") || {
    echo "the curl-multi floor failed: $floor $(cat "$WORK/curlmulti.log")" >&2; exit 1; }
  write_config "$WORK/c.yml" "$http" download "$rate" "d{i}: {{url: '$url', sleep: 1}}"
  start_monitor "$WORK/c.yml"
  wait_http "$http"
  sleep 5   # warm-up: every check has run a few times
  measure_window "$http" "$seconds" download served
  local errors
  errors=$(grep -vc '^200$' "$WORK/nginx/access.log" || true)
  stop_monitor
  python3 - "$rate" "$seconds" "$T0" "$T1" "$N0" "$N1" $R0 $R1 "$C0" "$C1" "$RSS" "$LAG" "$errors" $floor <<'PY'
import sys
rate, seconds, t0, t1, n0, n1, s0, f0, s1, f1, c0, c1, rss, lag, errors, floor_us, floor_n, floor_failed = sys.argv[1:]
rate, seconds, elapsed = int(rate), float(seconds), float(t1) - float(t0)
done, ok, failed = int(n1) - int(n0), int(s1) - int(s0), int(f1) - int(f0)
cpu = float(c1) - float(c0)
us = 1e6 * cpu / max(done, 1)
print(f"download, {rate} checks of one 10 KB file (nginx, loopback) at sleep 1, {seconds:.0f} s: "
      f"{done / elapsed:,.0f} requests/s at nginx ({100 * done / elapsed / rate:.1f} % of the demanded {rate:,}/s)")
print(f"  results: {(ok + failed) / elapsed:,.0f}/s, {failed:,} of {ok + failed:,} failed; "
      f"nginx answered {int(errors):,} requests with other than 200 in the whole run; floor: {int(floor_failed):,} failed of {int(floor_n) + int(floor_failed):,}")
print(f"  CPU: {us:.1f} us per download, {100 * cpu / seconds:.0f} % of a core; "
      f"floor (C curl-multi, {rate:,}/s, same run): {float(floor_us):.1f} us; ratio {us / float(floor_us):.2f}")
print(f"  peak RSS: {float(rss):.1f} MB; scheduler lag p99: {lag}")
PY
  show_monitor_problems
}

bench_setup
floor_build curlmulti -lcurl
download_bench "$@"
echo "machine: $(nproc) CPUs, $(uname -r), $(date -u +%Y-%m-%d)"
