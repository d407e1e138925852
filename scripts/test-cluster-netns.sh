#!/usr/bin/env bash
# Agents as real separate hosts: each location's agent runs in a network namespace of its own,
# reaches the broker over a veth link, and sees only its own network.
#
#   scripts/test-cluster-netns.sh [BINARY]    # default .build/debug/healthmonitor
#
# Needs root (ip netns), iproute2, python3 and the test RabbitMQ on 127.0.0.1:5672
# (scripts/services.sh start). The layout:
#
#   root namespace: broker 127.0.0.1:5672, controller (`run`, settings.cluster), relays
#     10.77.1.1:5672 and 10.77.2.1:5672 -> 127.0.0.1:5672 (the broker listens on loopback only)
#   hm-eu-PID: 10.77.1.2/30, agent eu-1, and a TCP service on its own 127.0.0.1:8080
#   hm-us-PID: 10.77.2.2/30, agent us-1, nothing on 8080
#
# One check, `hostport app {host: 127.0.0.1, port: 8080, locations: [local, eu, us]}`, runs for
# HM_NETNS_SECONDS (6). It passes when every location has results, all of them from its own
# agent, and what each saw is its own network: eu connects (the service is on its loopback), us
# and the controller's own run are refused (nothing listens on theirs). Prints PASS or FAIL.
set -euo pipefail
cd "$(dirname "$0")/.."

BINARY=$(realpath "${1:-.build/debug/healthmonitor}")
RUN_SECONDS=${HM_NETNS_SECONDS:-6}
EU=hm-eu-$$
US=hm-us-$$
VHOST=hm-netns-$$
BROKER_PORT=5672
SERVICE_PORT=8080

fail() { echo "test-cluster-netns: FAIL: $*" >&2; exit 1; }
[ -x "$BINARY" ] || fail "no healthmonitor binary at $BINARY (run 'swift build' first, or pass its path)"
[ "$(id -u)" -eq 0 ] || fail "needs root (ip netns)"
command -v ip >/dev/null || fail "needs iproute2 (apt-get install iproute2)"
python3 -c "import socket; socket.create_connection(('127.0.0.1', $BROKER_PORT), 1)" 2>/dev/null ||
    fail "no broker on 127.0.0.1:$BROKER_PORT (scripts/services.sh start rabbitmq)"

WORK=$(mktemp -d /tmp/hm-netns.XXXXXX)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do { kill -9 "$pid" && wait "$pid"; } 2>/dev/null || true; done
    for ns in "$EU" "$US"; do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    done
    wait 2>/dev/null || true
    ip netns delete "$EU" 2>/dev/null || true
    ip netns delete "$US" 2>/dev/null || true
    scripts/services.sh rabbitmqctl delete_vhost "$VHOST" >/dev/null 2>&1 || true
    if [ -n "${HM_NETNS_KEEP:-}" ]; then echo "test-cluster-netns: kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# namespace NS SUBNET: NS with lo up and a veth to the root namespace, 10.77.SUBNET.1 on the
# root side, .2 inside.
namespace() {
    local ns=$1 subnet=$2 here="hm$2h$$" there="hm$2t$$"
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip link add "$here" type veth peer name "$there"
    ip link set "$there" netns "$ns"
    ip addr add "10.77.$subnet.1/30" dev "$here"
    ip link set "$here" up
    ip -n "$ns" addr add "10.77.$subnet.2/30" dev "$there"
    ip -n "$ns" link set "$there" up
}
namespace "$EU" 1
namespace "$US" 2

# The relays: the broker, as an agent on another host would reach it.
cat > "$WORK/relay.py" <<'EOF'
import asyncio, sys

async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()

async def serve(listen_host, port, target_port):
    async def accepted(reader, writer):
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", target_port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))
    server = await asyncio.start_server(accepted, listen_host, port)
    await server.serve_forever()

async def main():
    port = int(sys.argv[1])
    await asyncio.gather(*(serve(host, port, port) for host in sys.argv[2:]))

asyncio.run(main())
EOF
python3 "$WORK/relay.py" "$BROKER_PORT" 10.77.1.1 10.77.2.1 > "$WORK/relay.log" 2>&1 &
PIDS+=($!)
ip netns exec "$EU" python3 scripts/bench_acceptor.py "$SERVICE_PORT" > "$WORK/service.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do
    ip netns exec "$EU" python3 -c "import socket; socket.create_connection(('10.77.1.1', $BROKER_PORT), 1); socket.create_connection(('127.0.0.1', $SERVICE_PORT), 1)" 2>/dev/null && break
    sleep 0.1
done
ip netns exec "$EU" python3 -c "import socket; socket.create_connection(('10.77.1.1', $BROKER_PORT), 1)" 2>/dev/null ||
    fail "the broker is not reachable from $EU: $(cat "$WORK/relay.log")"
# The namespaces are separate networks: us reaches the broker but not eu's service.
if ip netns exec "$US" python3 -c "import socket; socket.create_connection(('127.0.0.1', $SERVICE_PORT), 1)" 2>/dev/null; then
    fail "$US reaches eu's service on its own loopback"
fi

scripts/services.sh rabbitmqctl add_vhost "$VHOST" >/dev/null
scripts/services.sh rabbitmqctl set_permissions -p "$VHOST" guest '.*' '.*' '.*' >/dev/null

cat > "$WORK/c.yml" <<EOF
settings:
  state_dir: $WORK/state
  http: {listen: "off"}
  history: {enabled: false}
  cluster: {uri: "amqp://guest:guest@127.0.0.1:$BROKER_PORT/$VHOST", name: ctl-netns}
checks:
  hostport:
    app: {host: 127.0.0.1, port: $SERVICE_PORT, sleep: 0.5, timeout: 2, locations: [local, eu, us]}
notifiers:
  console: {report: always, format: json}
EOF
ip netns exec "$EU" "$BINARY" agent --location eu --cluster-uri "amqp://guest:guest@10.77.1.1:$BROKER_PORT/$VHOST" --name eu-1 \
    > "$WORK/eu.out" 2> "$WORK/eu.log" &
EU_AGENT=$!
PIDS+=($EU_AGENT)
ip netns exec "$US" "$BINARY" agent --location us --cluster-uri "amqp://guest:guest@10.77.2.1:$BROKER_PORT/$VHOST" --name us-1 \
    > "$WORK/us.out" 2> "$WORK/us.log" &
US_AGENT=$!
PIDS+=($US_AGENT)
"$BINARY" run --config "$WORK/c.yml" > "$WORK/results.jsonl" 2> "$WORK/controller.log" &
CONTROLLER=$!
PIDS+=($CONTROLLER)
sleep "$RUN_SECONDS"

# stop PID NAME: SIGTERM, at most 15 s, exit status 0.
stop() {
    kill -TERM "$1"
    local waited=0
    while kill -0 "$1" 2>/dev/null; do
        sleep 0.1
        waited=$((waited + 1))
        [ "$waited" -lt 150 ] || fail "$2 did not stop within 15 s of SIGTERM"
    done
    wait "$1" || fail "$2 exited with $? ($(tail -5 "$WORK/$2.log"))"
}
stop "$CONTROLLER" controller
stop "$EU_AGENT" eu
stop "$US_AGENT" us

python3 - "$WORK" "$RUN_SECONDS" <<'EOF'
import collections, json, sys

work, seconds = sys.argv[1], float(sys.argv[2])
problems = []
by_location = collections.defaultdict(list)
with open(f"{work}/results.jsonl") as f:
    for line in f:
        if line.startswith("{"):
            result = json.loads(line)
            if result["check"] == "hostport":
                by_location[result.get("location", "local")].append(result)

expected = {"local": ("failure", None, "connection refused"), "eu": ("success", "eu-1", "Successfully connected"),
            "us": ("failure", "us-1", "connection refused")}
for location, (status, agent, text) in expected.items():
    results = by_location.get(location, [])
    # sleep 0.5 over the run, less the agents' start and the first period: at least a third.
    if len(results) < seconds / 0.5 / 3:
        problems.append(f"{location}: {len(results)} results in {seconds} s")
    for r in results:
        if r["status"] != status or text not in r["message"] or r.get("agent") != agent:
            problems.append(f"{location}: {r['status']} from {r.get('agent')}: {r['message']}")
            break
print("test-cluster-netns: results per location: " + ", ".join(f"{k} {len(v)}" for k, v in sorted(by_location.items())))
if set(by_location) - set(expected):
    problems.append(f"results from unexpected locations: {sorted(set(by_location) - set(expected))}")
if problems:
    print("test-cluster-netns: FAIL:\n  " + "\n  ".join(problems), file=sys.stderr)
    sys.exit(1)
print("test-cluster-netns: PASS: eu's agent reached the service on its own loopback, us's and the controller's were refused")
EOF
