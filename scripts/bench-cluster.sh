#!/usr/bin/env bash
# The distributed monitor's benchmark (README, "Distributed checks"): N hostport checks at
# sleep 1 in location eu, run by two agents, against the C acceptor, beside the same N checks run
# locally (standalone) in the same run. Measured from outside: the acceptor's count, /proc CPU of
# the controller, each agent and the broker (beam.smp), per check, and each as a ratio to the
# standalone monitor's CPU per check. Needs the test broker (scripts/services.sh start).
#
#   scripts/bench-cluster.sh [CHECKS=5000] [SECONDS=20]
set -euo pipefail
source "$(dirname "$0")/bench-lib.sh"
bench_setup
checks=${1:-5000}
seconds=${2:-20}
services="$ROOT/scripts/services.sh"
vhost="hm-bench-$$"
"$services" rabbitmqctl add_vhost "$vhost" >/dev/null
"$services" rabbitmqctl set_permissions -p "$vhost" guest '.*' '.*' '.*' >/dev/null
BENCH_CLEANUP='"$services" rabbitmqctl delete_vhost "$vhost" >/dev/null 2>&1 || true'
uri="amqp://guest:guest@127.0.0.1:5672/$vhost"
broker=$("$services" pid rabbitmq)

port=$(free_port)
start_acceptor "$port"

# run_window CONFIG: starts the monitor on CONFIG (and waits 5 s), then measures SECONDS:
# sets DONE (connects at the acceptor) and MON (monitor CPU s), AG1 AG2 (agents' CPU s, when
# running) and BRK (broker CPU s); MONIO AGIO (read/write system calls) and MONSW AGSW (context
# switches) of the monitor and of the agents together.
run_window() {
  start_monitor "$1"
  wait_http "$HTTP"
  sleep 5
  local n0 c0 a0 b0 d0 n1 i0 s0 j0 t0
  n0=$(accepted "$ACCEPTED"); c0=$(cpu_seconds "$MONITOR"); b0=$(cpu_seconds "$broker")
  i0=$(io_calls "$MONITOR"); s0=$(switches "$MONITOR")
  a0=0; d0=0; j0=0; t0=0
  if [[ -n ${AGENT1:-} ]]; then
    a0=$(cpu_seconds "$AGENT1"); d0=$(cpu_seconds "$AGENT2")
    j0=$(( $(io_calls "$AGENT1") + $(io_calls "$AGENT2") )); t0=$(( $(switches "$AGENT1") + $(switches "$AGENT2") ))
  fi
  sleep "$seconds"
  MONIO=$(( $(io_calls "$MONITOR") - i0 )); MONSW=$(( $(switches "$MONITOR") - s0 ))
  AGIO=0; AGSW=0
  if [[ -n ${AGENT1:-} ]]; then
    AGIO=$(( $(io_calls "$AGENT1") + $(io_calls "$AGENT2") - j0 )); AGSW=$(( $(switches "$AGENT1") + $(switches "$AGENT2") - t0 ))
  fi
  n1=$(accepted "$ACCEPTED")
  DONE=$((n1 - n0))
  MON=$(python3 -c "print($(cpu_seconds "$MONITOR") - $c0)")
  BRK=$(python3 -c "print($(cpu_seconds "$broker") - $b0)")
  if [[ -n ${AGENT1:-} ]]; then
    AG1=$(python3 -c "print($(cpu_seconds "$AGENT1") - $a0)"); AG2=$(python3 -c "print($(cpu_seconds "$AGENT2") - $d0)")
  fi
  stop_monitor
}

# Standalone: the same checks in this process.
HTTP=$(free_port)
write_config "$WORK/local.yml" "$HTTP" hostport "$checks" "c{i}: {{host: 127.0.0.1, port: $port, sleep: 1}}"
rm -rf "$WORK/state"
run_window "$WORK/local.yml"
local_done=$DONE local_cpu=$MON local_broker=$BRK local_io=$MONIO local_sw=$MONSW

# Distributed: the checks in eu, two agents.
HTTP=$(free_port)
write_config "$WORK/eu.yml" "$HTTP" hostport "$checks" "c{i}: {{host: 127.0.0.1, port: $port, sleep: 1, locations: [eu]}}"
sed -i "1s|}}\$|}, cluster: {uri: \"$uri\", name: bench}}|" "$WORK/eu.yml"
rm -rf "$WORK/state"
"$BIN" agent --location eu --cluster-uri "$uri" --name bench-1 >"$WORK/agent1.log" 2>&1 &
AGENT1=$!; BENCH_PIDS+=("$AGENT1")
"$BIN" agent --location eu --cluster-uri "$uri" --name bench-2 >"$WORK/agent2.log" 2>&1 &
AGENT2=$!; BENCH_PIDS+=("$AGENT2")
run_window "$WORK/eu.yml"
kill -TERM "$AGENT1" "$AGENT2"; wait "$AGENT1" "$AGENT2" 2>/dev/null || true
stop_acceptor

python3 - "$checks" "$seconds" "$local_done" "$local_cpu" "$local_broker" "$DONE" "$MON" "$AG1" "$AG2" "$BRK" \
  "$local_io" "$local_sw" "$MONIO" "$MONSW" "$AGIO" "$AGSW" <<'PY'
import sys
n, s = int(sys.argv[1]), float(sys.argv[2])
ld, lc, lb, d, c, a1, a2, b, lio, lsw, cio, csw, aio, asw = map(float, sys.argv[3:])
per = lambda cpu, done: 1e6 * cpu / max(done, 1)
floor = per(lc, ld)
print(f"cluster, {n:,} hostport checks at sleep 1, {s:.0f} s each")
print(f"  standalone (the floor): {ld / s:,.0f} checks/s, {floor:.1f} us CPU per check")
print(f"  through 2 agents:       {d / s:,.0f} checks/s ({100 * d / s / n:.1f} % of the demanded {n:,}/s)")
print(f"    controller: {per(c, d):.1f} us per check, ratio {per(c, d) / floor:.2f}")
print(f"    agents:     {per(a1 + a2, d):.1f} us per check (both; {per(a1, d):.1f} + {per(a2, d):.1f}), ratio {per(a1 + a2, d) / floor:.2f}")
print(f"    broker:     {per(b, d):.1f} us per check ({100 * b / s:.0f} % of a core; standalone: {100 * lb / s:.0f} %)")
print(f"  per check, read/write system calls and context switches: standalone {lio / max(ld, 1):.2f} / {lsw / max(ld, 1):.2f}, "
      f"controller {cio / max(d, 1):.2f} / {csw / max(d, 1):.2f}, agents {aio / max(d, 1):.2f} / {asw / max(d, 1):.2f}")
PY
