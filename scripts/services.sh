#!/usr/bin/env bash
# Real test servers for the healthmonitor integration tests, all on loopback.
#
# Usage: scripts/services.sh COMMAND [NAME]
#   install            apt-get install the missing Debian packages (apt-get update
#                      only when something is missing) and create the venv
#                      <repo>/.venv-services (secantusdb + pymongo + pika) when missing.
#   start              install, then start every server that is not running yet,
#                      with a wiped state folder for each of them (a server that is
#                      already running is kept as it is), and wait until each
#                      answers. Idempotent.
#   stop               stop every server (pid files; rabbitmq: rabbitmqctl shutdown,
#                      then TERM/KILL). epmd may stay.
#   status [NAME]      one line per server; exit 0 when all (or NAME) answer, 3 if not.
#   start-one NAME     start one server, keeping its data (no wipe), wait until ready.
#   stop-one NAME      stop one server, keeping its data.
#   restart NAME       stop-one + start-one (data kept: durable queues survive).
#   pid NAME           print the server's OS pid (rabbitmq: the beam.smp pid, the one
#                      to kill -STOP / -CONT); exit 1 when not running.
#   log NAME [LINES]   print the tail of the server's log.
#   rabbitmqctl ARGS.. run rabbitmqctl against the test node with the right env,
#                      e.g. `scripts/services.sh rabbitmqctl set_vm_memory_high_watermark 0`
#   rabbitmq-env       print the export lines needed to call
#                      /usr/lib/rabbitmq/bin/rabbitmqctl yourself.
# NAME: rabbitmq | influxdb | smtp | mongo
#
# Servers (state folder S = ${HM_SERVICES_DIR:-/tmp/hm-services}, one subfolder each,
# pids and logs in there):
#   rabbitmq  127.0.0.1:5672 AMQP, guest/guest, node rabbit@localhost, dist 127.0.0.1:25672.
#             S/rabbitmq/{rabbitmq.conf,mnesia/,log/,home/.erlang.cookie,beam.pid,wrapper.pid,
#             rabbitmq.log}. HM_RABBITMQ_MANAGEMENT=1 also enables the management plugin
#             on 127.0.0.1:15672 (off by default: it slows the start).
#             rabbitmqctl env: use the /usr/lib/rabbitmq/bin/rabbitmqctl (NOT /usr/sbin/rabbitmqctl,
#             which su's to the rabbitmq user) with
#               HOME=S/rabbitmq/home RABBITMQ_NODENAME=rabbit@localhost
#               RABBITMQ_CONF_ENV_FILE=S/rabbitmq/rabbitmq-env.conf
#             (see `scripts/services.sh rabbitmq-env`), or just `scripts/services.sh rabbitmqctl ...`.
#   influxdb  1.x influxd, HTTP 127.0.0.1:8086 (no auth), RPC 127.0.0.1:8088. S/influxdb/.
#   smtp      scripts/smtp_server.py (aiosmtpd, /usr/bin/python3): 2525 STARTTLS + AUTH
#             PLAIN/LOGIN hm/secret after STARTTLS, 2526 plain no auth, 2465 implicit TLS + AUTH.
#             Self-signed cert S/smtp/cert.pem; messages as JSON in S/smtp/messages/.
#   mongo     secantusd-py (SecantusDB, MongoDB wire protocol on WiredTiger) 127.0.0.1:27017,
#             data S/mongo/data. HM_MONGO_STANDALONE=1 makes it answer as a standalone
#             server instead of a single-node replica-set primary (the default).
# Other env: HM_SERVICES_TIMEOUT (readiness timeout per server, seconds, default 60).
# Exit codes: 0 ok, 1 failure (install/start/stop/readiness timeout), 2 usage, 3 status: not all up.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
STATE=$(realpath -m "${HM_SERVICES_DIR:-/tmp/hm-services}")
VENV="$REPO_ROOT/.venv-services"
SYS_PY=/usr/bin/python3
TIMEOUT=${HM_SERVICES_TIMEOUT:-60}
SECANTUSDB_SPEC=${HM_SECANTUSDB_SPEC:-secantusdb==0.7.0b3}
PYMONGO_SPEC='pymongo>=4.6,<5'
# pika: the event-sink consumer of docker/event-sink runs with this venv's python in the tests.
PIKA_SPEC='pika>=1.3,<2'
RABBIT_BIN=/usr/lib/rabbitmq/bin
RABBIT_NODE=rabbit@localhost
ALL=(rabbitmq influxdb smtp mongo)

declare -A PKGS=(
  [rabbitmq]="rabbitmq-server"
  [influxdb]="influxdb curl"
  [smtp]="python3-aiosmtpd openssl"
  [mongo]="python3-venv"
)
declare -A PORTS=(
  [rabbitmq]="5672 25672"
  [influxdb]="8086 8088"
  [smtp]="2525 2526 2465"
  [mongo]="27017"
)
# A string that must appear in /proc/PID/cmdline, against pid reuse.
declare -A MARK=(
  [rabbitmq]="rabbitmq-server"
  [influxdb]="influxd"
  [smtp]="smtp_server.py"
  [mongo]="secantusd-py"
)

log() { printf '[services] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | grep '^#' | sed 's/^# \{0,1\}//' >&2; exit 2; }
valid_name() { [[ " ${ALL[*]} " == *" ${1:-} "* ]] || { log "unknown server '${1:-}' (one of: ${ALL[*]})"; exit 2; }; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}'; }

# ---------------------------------------------------------------- processes
# alive PID [MARK]: process exists, is not a zombie (pid 1 here does not reap
# orphans), and its cmdline contains MARK.
alive() {
  local pid=${1:-} mark=${2:-} st
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  st=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [[ -n $st && $st != Z && $st != X ]] || return 1
  [[ -z $mark ]] || tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$mark"
}
# pid_of_file FILE MARK: the pid in FILE if that process is alive.
pid_of_file() {
  local pid
  pid=$(head -n1 "$1" 2>/dev/null | tr -dc '0-9') || true
  if alive "$pid" "$2"; then echo "$pid"; fi
}
# main_pid NAME: pid of the process services.sh launched for NAME (rabbitmq: the
# rabbitmq-server sh wrapper), empty when not running.
main_pid() { pid_of_file "$STATE/$1/$1.pid" "${MARK[$1]}"; }
is_running() { [[ -n $(main_pid "$1") || ( $1 == rabbitmq && -n $(rabbit_beam_pid) ) ]]; }

rabbit_beam_pid() {
  local pid w
  pid=$(pid_of_file "$STATE/rabbitmq/beam.pid" beam.smp)
  if [[ -z $pid ]]; then
    w=$(main_pid rabbitmq)
    [[ -z $w ]] || pid=$(pgrep -P "$w" -x beam.smp 2>/dev/null | head -n1) || true
  fi
  echo "$pid"
}

# wait_gone SECONDS PID...: 0 when all are gone in time.
wait_gone() {
  local secs=$1 p left; shift
  local deadline=$(( $(date +%s) + secs ))
  while :; do
    left=0
    for p in "$@"; do alive "$p" && left=1; done
    (( left )) || return 0
    (( $(date +%s) < deadline )) || return 1
    sleep 0.2
  done
}
# terminate SECONDS PID...: TERM, wait, KILL.
terminate() {
  local secs=$1 p; shift
  local pids=()
  for p in "$@"; do alive "$p" && pids+=("$p"); done
  (( ${#pids[@]} )) || return 0
  kill -CONT "${pids[@]}" 2>/dev/null || true
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait_gone "$secs" "${pids[@]}" && return 0
  log "  still alive after ${secs}s, sending KILL to ${pids[*]}"
  kill -KILL "${pids[@]}" 2>/dev/null || true
  wait_gone 5 "${pids[@]}"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port_banner() { # port_banner PORT PREFIX: first line read from PORT starts with PREFIX
  local line=''
  { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
  IFS= read -r -t 3 line <&3 || true
  exec 3<&- 3>&-
  [[ $line == "$2"* ]]
}
check_ports_free() {
  local p
  for p in ${PORTS[$1]}; do
    if port_open "$p"; then
      log "ERROR: port 127.0.0.1:$p needed by $1 is already in use by another process:"
      ss -ltnp "sport = :$p" >&2 || true
      return 1
    fi
  done
}

# launch NAME LOGFILE CMD...: start CMD detached (own session, stdin /dev/null,
# output to LOGFILE), its pid in $STATE/NAME/NAME.pid (the exec'd CMD itself). The server
# inherits no other open file of its caller: a caller under `flock LOCK` would otherwise leave
# the lock held by the server long after it ended (and this script's own lock, fd 9).
launch() {
  local name=$1 logfile=$2; shift 2
  local pidfile="$STATE/$name/$name.pid"
  rm -f "$pidfile"
  # shellcheck disable=SC2016  # $$, $0 and $@ are for the inner bash
  setsid bash -c 'for fd in /proc/$$/fd/*; do n=${fd##*/}; ((n > 2)) && eval "exec $n>&-"; done
    echo $$ >"$0"; exec "$@"' "$pidfile" "$@" \
    </dev/null >>"$logfile" 2>&1 &
  for _ in $(seq 50); do [[ -s $pidfile ]] && break; sleep 0.05; done
}

# ---------------------------------------------------------------- install
have_pkg() { [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]; }

install_pkgs() { # install_pkgs NAME...
  local missing=() n p
  for n in "$@"; do for p in ${PKGS[$n]}; do have_pkg "$p" || missing+=("$p"); done; done
  (( ${#missing[@]} )) || return 0
  log "installing Debian packages: ${missing[*]}"
  local sudo=()
  if (( EUID != 0 )); then
    command -v sudo >/dev/null || die "need root (or sudo) to apt-get install ${missing[*]}"
    sudo=(sudo)
  fi
  # Keep apt from starting the packages' own system services (they would take
  # our ports); only when no policy-rc.d exists already.
  local policy=/usr/sbin/policy-rc.d made_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod 755 "$policy"; made_policy=1
  fi
  local rc=0
  { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >&2 || rc=$?
  (( made_policy )) && "${sudo[@]}" rm -f "$policy"
  (( rc == 0 )) || die "apt-get install failed (rc=$rc)"
}

venv_ok() { [[ -x $VENV/bin/python && -x $VENV/bin/secantusd-py ]] && "$VENV/bin/python" -c 'import secantus, pymongo, pika' 2>/dev/null; }
install_venv() {
  venv_ok && return 0
  install_pkgs mongo
  log "creating venv $VENV ($SECANTUSDB_SPEC, $PYMONGO_SPEC, $PIKA_SPEC)"
  [[ -x $VENV/bin/python ]] || "$SYS_PY" -m venv "$VENV" || die "python3 -m venv failed"
  PIP_DISABLE_PIP_VERSION_CHECK=1 "$VENV/bin/python" -m pip install -q --pre "$SECANTUSDB_SPEC" "$PYMONGO_SPEC" "$PIKA_SPEC" >&2 ||
    die "pip install into $VENV failed"
  venv_ok || die "venv $VENV is broken (cannot import secantus/pymongo/pika)"
}

install_for() { # install_for NAME
  case $1 in
    mongo) install_venv ;;
    *) install_pkgs "$1" ;;
  esac
}
cmd_install() {
  install_pkgs "${ALL[@]}"
  install_venv
  log "install: all present"
}

# ---------------------------------------------------------------- rabbitmq
rabbit_env() {
  local d="$STATE/rabbitmq"
  export HOME="$d/home"
  export RABBITMQ_NODENAME="$RABBIT_NODE"
  export RABBITMQ_USE_LONGNAME=false
  export RABBITMQ_CONF_ENV_FILE="$d/rabbitmq-env.conf"
  export RABBITMQ_CONFIG_FILE="$d/rabbitmq.conf"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$d/enabled_plugins"
  export RABBITMQ_MNESIA_BASE="$d/mnesia"
  export RABBITMQ_LOG_BASE="$d/log"
  export RABBITMQ_PID_FILE="$d/beam.pid"
  export RABBITMQ_DIST_PORT=25672
  export ERL_EPMD_ADDRESS=127.0.0.1
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
}
rabbitmqctl_run() { ( rabbit_env; exec "$RABBIT_BIN/rabbitmqctl" "$@" ); }

start_rabbitmq() {
  local d="$STATE/rabbitmq"
  mkdir -p "$d/home" "$d/mnesia" "$d/log"
  : >"$d/rabbitmq-env.conf"   # keeps /etc/rabbitmq/rabbitmq-env.conf out
  if [[ ! -s $d/home/.erlang.cookie ]]; then
    (umask 077; tr -dc '[:upper:]' </dev/urandom | head -c 32 >"$d/home/.erlang.cookie")
    chmod 400 "$d/home/.erlang.cookie"
  fi
  cat >"$d/rabbitmq.conf" <<'EOF'
listeners.tcp.default = 127.0.0.1:5672
loopback_users.guest = true
default_user = guest
default_pass = guest
disk_free_limit.absolute = 10MB
log.console = false
log.file.level = info
EOF
  if [[ ${HM_RABBITMQ_MANAGEMENT:-0} == 1 ]]; then
    echo '[rabbitmq_management].' >"$d/enabled_plugins"
    printf 'management.tcp.ip = 127.0.0.1\nmanagement.tcp.port = 15672\n' >>"$d/rabbitmq.conf"
  else
    echo '[].' >"$d/enabled_plugins"
  fi
  rm -f "$d/beam.pid"
  ( rabbit_env; cd "$d"; launch rabbitmq "$d/rabbitmq.log" "$RABBIT_BIN/rabbitmq-server" )
}
ready_rabbitmq() {
  port_open 5672 || return 1
  rabbitmqctl_run -q await_startup --timeout 5 >/dev/null 2>&1
}
stop_rabbitmq() {
  local w b
  w=$(main_pid rabbitmq); b=$(rabbit_beam_pid)
  [[ -n $w || -n $b ]] || return 0
  [[ -z $b ]] || kill -CONT "$b" 2>/dev/null || true   # in case a test left it SIGSTOPped
  if [[ -n $b ]] && ! ( rabbit_env; timeout 40 "$RABBIT_BIN/rabbitmqctl" -q shutdown --timeout 30 ) >/dev/null 2>&1; then
    log "  rabbitmqctl shutdown failed, terminating"
  fi
  terminate 15 "$b" "$w"
}
log_rabbitmq() { echo "$STATE/rabbitmq/rabbitmq.log" "$STATE/rabbitmq/log/$RABBIT_NODE.log"; }

# ---------------------------------------------------------------- influxdb
start_influxdb() {
  local d="$STATE/influxdb"
  mkdir -p "$d/meta" "$d/data" "$d/wal"
  cat >"$d/influxdb.conf" <<EOF
reporting-disabled = true
bind-address = "127.0.0.1:8088"
[meta]
  dir = "$d/meta"
  retention-autocreate = true
  logging-enabled = true
[data]
  dir = "$d/data"
  wal-dir = "$d/wal"
  index-version = "inmem"
  query-log-enabled = false
  cache-max-memory-size = 268435456
[monitor]
  store-enabled = false
[http]
  enabled = true
  bind-address = "127.0.0.1:8086"
  auth-enabled = false
  log-enabled = true
  pprof-enabled = false
  https-enabled = false
  unix-socket-enabled = false
[ifql]
  enabled = false
[logging]
  level = "info"
  suppress-logo = true
[subscriber]
  enabled = false
[continuous_queries]
  enabled = true
EOF
  ( cd "$d"; launch influxdb "$d/influxdb.log" influxd run -config "$d/influxdb.conf" )
}
ready_influxdb() {
  [[ $(curl -s -o /dev/null -m 2 -w '%{http_code}' http://127.0.0.1:8086/ping 2>/dev/null) == 204 ]]
}
stop_influxdb() { local p; p=$(main_pid influxdb); terminate 20 "$p"; }
log_influxdb() { echo "$STATE/influxdb/influxdb.log"; }

# ---------------------------------------------------------------- smtp
start_smtp() {
  local d="$STATE/smtp"
  mkdir -p "$d/messages"
  if [[ ! -s $d/cert.pem || ! -s $d/key.pem ]]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=localhost \
      -addext 'subjectAltName=DNS:localhost,IP:127.0.0.1' \
      -keyout "$d/key.pem" -out "$d/cert.pem" >/dev/null 2>&1 || die "openssl req failed"
  fi
  ( cd "$d"; launch smtp "$d/smtp.log" "$SYS_PY" -u "$SCRIPT_DIR/smtp_server.py" \
      --host 127.0.0.1 --port 2525 --plain-port 2526 --smtps-port 2465 \
      --cert "$d/cert.pem" --key "$d/key.pem" --messages-dir "$d/messages" \
      --user hm --password secret )
}
ready_smtp() { port_banner 2525 220 && port_banner 2526 220 && port_open 2465; }
stop_smtp() { local p; p=$(main_pid smtp); terminate 15 "$p"; }
log_smtp() { echo "$STATE/smtp/smtp.log"; }

# ---------------------------------------------------------------- mongo
start_mongo() {
  local d="$STATE/mongo" extra=()
  mkdir -p "$d/data"
  [[ ${HM_MONGO_STANDALONE:-0} == 1 ]] && extra+=(--standalone)
  # cwd = $d so no ./secantusd.toml from elsewhere is picked up.
  ( cd "$d"; launch mongo "$d/mongo.log" "$VENV/bin/secantusd-py" --host 127.0.0.1 --port 27017 \
      --storage-path "$d/data" --cache-size 256M --log-level INFO "${extra[@]}" )
}
ready_mongo() {
  port_open 27017 || return 1
  "$VENV/bin/python" -c 'import pymongo; pymongo.MongoClient("mongodb://127.0.0.1:27017", serverSelectionTimeoutMS=1000).admin.command("ping")' >/dev/null 2>&1
}
stop_mongo() { local p; p=$(main_pid mongo); terminate 20 "$p"; }
log_mongo() { echo "$STATE/mongo/mongo.log"; }

# ---------------------------------------------------------------- generic
show_log_tail() {
  local f
  for f in $("log_$1"); do
    [[ -f $f ]] || continue
    log "---- last lines of $f ----"
    tail -n "${2:-40}" "$f" >&2 || true
  done
}

# launch_one NAME: start NAME unless running. Sets LAUNCHED_<NAME>=1 when launched.
declare -A T0=() LAUNCHED=()
launch_one() {
  local n=$1
  T0[$n]=$(now)
  if is_running "$n"; then
    log "$n: already running (pid $(main_pid "$n"))"
    return 0
  fi
  install_for "$n"
  check_ports_free "$n" || return 1
  log "$n: starting"
  "start_$n"
  LAUNCHED[$n]=1
}
# wait_ready NAME...: poll all NAMEs together until each answers; on a timeout
# or an early exit print the log tail (and stop it if this run launched it).
wait_ready() {
  local pending=("$@") rc=0 n deadline=$(( $(date +%s) + TIMEOUT ))
  while (( ${#pending[@]} )); do
    local still=()
    for n in "${pending[@]}"; do
      if "ready_$n"; then
        log "$n: ready after $(elapsed "${T0[$n]}")s (pid $(cmd_pid "$n" 2>/dev/null || echo '?'))"
      elif ! is_running "$n"; then
        log "ERROR: $n exited during start-up"; show_log_tail "$n"; rc=1
      elif (( $(date +%s) >= deadline )); then
        log "ERROR: $n did not answer within ${TIMEOUT}s"; show_log_tail "$n"; rc=1
        if [[ -n ${LAUNCHED[$n]:-} ]]; then log "$n: stopping it"; "stop_$n" || true; fi
      else
        still+=("$n")
      fi
    done
    pending=("${still[@]}")
    (( ${#pending[@]} == 0 )) || sleep 0.3
  done
  return $rc
}
stop_one() {
  local n=$1
  if ! is_running "$n"; then log "$n: not running"; rm -f "$STATE/$n/$n.pid"; return 0; fi
  local t; t=$(now)
  log "$n: stopping"
  if "stop_$n" && ! is_running "$n"; then
    rm -f "$STATE/$n/$n.pid"
    log "$n: stopped in $(elapsed "$t")s"
  else
    log "ERROR: $n could not be stopped"
    return 1
  fi
}

with_lock() {
  mkdir -p "$(dirname "$STATE")"
  exec 9>"$STATE.lock"
  flock -w 300 9 || die "could not lock $STATE.lock"
}

cmd_start() {
  with_lock
  local t; t=$(now)
  cmd_install
  local n any=0
  for n in "${ALL[@]}"; do is_running "$n" && any=1; done
  if (( any == 0 )); then
    [[ $STATE != / && -n $STATE ]] || die "refusing to wipe '$STATE'"
    rm -rf "$STATE"
  fi
  mkdir -p "$STATE"
  for n in "${ALL[@]}"; do
    if ! is_running "$n"; then rm -rf "${STATE:?}/$n"; mkdir -p "$STATE/$n"; fi
  done
  local rc=0
  for n in "${ALL[@]}"; do launch_one "$n" || { rc=1; unset "T0[$n]"; }; done
  local waitfor=()
  for n in "${ALL[@]}"; do [[ -n ${T0[$n]:-} ]] && waitfor+=("$n"); done
  (( ${#waitfor[@]} == 0 )) || wait_ready "${waitfor[@]}" || rc=1
  if (( rc )); then log "start: FAILED after $(elapsed "$t")s"; exit 1; fi
  log "start: all servers ready in $(elapsed "$t")s (state: $STATE)"
}
cmd_start_one() {
  valid_name "${1:-}"; with_lock
  mkdir -p "$STATE/$1"
  launch_one "$1" || exit 1
  wait_ready "$1" || exit 1
}
cmd_stop_one() { valid_name "${1:-}"; with_lock; stop_one "$1" || exit 1; }
cmd_stop() {
  with_lock
  local n rc=0
  for n in "${ALL[@]}"; do stop_one "$n" || rc=1; done
  (( rc == 0 )) || exit 1
  log "stop: all stopped"
}
cmd_restart() { valid_name "${1:-}"; cmd_stop_one "$1"; cmd_start_one "$1"; }
cmd_status() {
  local names=("${ALL[@]}") n rc=0
  if [[ -n ${1:-} ]]; then valid_name "$1"; names=("$1"); fi
  for n in "${names[@]}"; do
    if ! is_running "$n"; then printf '%-9s stopped\n' "$n"; rc=3
    elif "ready_$n"; then printf '%-9s running (pid %s), answering\n' "$n" "$(cmd_pid "$n")"
    else printf '%-9s running (pid %s), NOT answering\n' "$n" "$(cmd_pid "$n")"; rc=3; fi
  done
  return $rc
}
cmd_pid() {
  valid_name "${1:-}"
  local p
  if [[ $1 == rabbitmq ]]; then p=$(rabbit_beam_pid); else p=$(main_pid "$1"); fi
  [[ -n $p ]] || { log "$1: not running"; return 1; }
  echo "$p"
}
cmd_rabbitmq_env() {
  rabbit_env
  local v
  for v in HOME RABBITMQ_NODENAME RABBITMQ_USE_LONGNAME RABBITMQ_CONF_ENV_FILE; do
    printf 'export %s=%q\n' "$v" "${!v}"
  done
  echo "# then: $RABBIT_BIN/rabbitmqctl ARGS..."
}

cmd=${1:-}; shift || true
case $cmd in
  install) cmd_install ;;
  start) [[ $# -eq 0 ]] || { cmd_start_one "$1"; exit; }; cmd_start ;;
  stop) [[ $# -eq 0 ]] || { cmd_stop_one "$1"; exit; }; cmd_stop ;;
  start-one) cmd_start_one "${1:-}" ;;
  stop-one) cmd_stop_one "${1:-}" ;;
  restart) cmd_restart "${1:-}" ;;
  status) cmd_status "${1:-}" ;;
  pid) cmd_pid "${1:-}" ;;
  log|logs) valid_name "${1:-}"; for f in $("log_$1"); do [[ -f $f ]] && { echo "==> $f"; tail -n "${2:-50}" "$f"; }; done; true ;;
  rabbitmqctl) rabbitmqctl_run "$@" ;;
  rabbitmq-env) cmd_rabbitmq_env ;;
  -h|--help|help) usage ;;
  *) usage ;;
esac
