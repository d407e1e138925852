#!/usr/bin/env bash
# A test host that never answers ICMP echo, on this machine: the network namespace hm-silent,
# linked to this one by a veth pair, answers ARP but ignores every echo request
# (net.ipv4.icmp_echo_ignore_all=1 inside it). Ping tests that need a silent host use its address
# instead of a public one, so no test packet ever leaves the machine.
#
# Usage: scripts/silent-host.sh up|down|status
#   up      create it (idempotent); prints the address
#   down    remove it
#   status  exit 0 when it is up
# Needs root and iproute2. Address: 169.254.77.2 (this side: 169.254.77.1/30 on hm-silent0).
set -euo pipefail
NS=hm-silent
HERE=hm-silent0
THERE=hm-silent1
ADDRESS=169.254.77.2

up() {
  (( EUID == 0 )) || { echo "silent-host.sh: needs root (it creates a network namespace and a veth pair)" >&2; exit 1; }
  if [[ -e /sys/class/net/$HERE ]] && ip netns list | grep -qw "$NS"; then echo "$ADDRESS"; return 0; fi
  down 2>/dev/null || true
  command -v ip >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >/dev/null; }
  ip netns add "$NS"
  ip link add "$HERE" type veth peer name "$THERE"
  ip link set "$THERE" netns "$NS"
  ip addr add 169.254.77.1/30 dev "$HERE"
  ip link set "$HERE" up
  ip netns exec "$NS" ip link set lo up
  ip netns exec "$NS" ip addr add "$ADDRESS/30" dev "$THERE"
  ip netns exec "$NS" ip link set "$THERE" up
  ip netns exec "$NS" sysctl -q -w net.ipv4.icmp_echo_ignore_all=1
  echo "$ADDRESS"
}

down() {
  ip link del "$HERE" 2>/dev/null || true
  ip netns del "$NS" 2>/dev/null || true
}

case ${1:-} in
  up) up ;;
  down) down ;;
  status) [[ -e /sys/class/net/$HERE ]] ;;
  *) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
