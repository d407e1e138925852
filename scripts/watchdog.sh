#!/usr/bin/env bash
# Runs a test command and ends it when its output stops: a hung run fails in minutes instead of
# holding CI to its time limit.
#
# Usage: scripts/watchdog.sh IDLE_SECONDS LOG COMMAND [ARGS...]
# COMMAND's output (standard output and error) is shown and appended to LOG. When LOG has not
# grown for IDLE_SECONDS, the command's whole process group is ended, the swift-testing tests
# that started and did not finish are listed, and the exit status is 124. Otherwise the exit
# status is COMMAND's.
set -uo pipefail
idle=$1 log=$2
shift 2
: >>"$log"
# A session of its own, so that the test process and its children end together.
setsid bash -c 'set -o pipefail; "$@" 2>&1 | tee -a "$0"' "$log" "$@" &
pid=$!
last=$(stat -c %s "$log") quiet=0
while kill -0 "$pid" 2>/dev/null; do
  sleep 5
  size=$(stat -c %s "$log")
  if [[ $size != "$last" ]]; then
    last=$size quiet=0
    continue
  fi
  quiet=$((quiet + 5))
  ((quiet < idle)) && continue
  echo "watchdog: no output for $idle s from: $*" >&2
  python3 - "$log" <<'PY' >&2
import re, sys
text = open(sys.argv[1], errors="replace").read()
run = text[max(0, text.rfind("Test run started")):]
started = re.findall(r"◇ Test (\S+?\(.*?\)) started", run)
ended = set(re.findall(r"[✔✘] Test (\S+?\(.*?\)) (?:passed|failed)", run))
waiting = [t for t in dict.fromkeys(started) if t not in ended]
print(f"watchdog: {len(waiting)} test(s) started and not finished: {', '.join(waiting) or '(none)'}")
PY
  kill -TERM -- "-$pid" 2>/dev/null
  sleep 5
  kill -KILL -- "-$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  exit 124
done
wait "$pid"
