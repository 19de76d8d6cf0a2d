#!/usr/bin/env bash
# Runs the built Bulwark services in the background for the demo and local use.
#   scripts/services.sh start detector|breaker|all    (environment passes through: BULWARK_*)
#   scripts/services.sh stop detector|breaker|all
# Logs and pid files live under .cache/services/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=node.sh
source "$ROOT/scripts/node.sh"
RUN="${BULWARK_CACHE:-$ROOT/.cache}/services"
mkdir -p "$RUN"
say() { printf '[services] %s\n' "$*" >&2; }
alive() { [ -f "$RUN/$1.pid" ] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }
port_of() { case "$1" in detector) echo "${BULWARK_DETECTOR_PORT:-8080}" ;; breaker) echo "${BULWARK_BREAKER_PORT:-8081}" ;; esac; }

start_one() {
  local name="$1"
  if alive "$name"; then say "$name already running (pid $(cat "$RUN/$name.pid"))"; return 0; fi
  [ -f "$ROOT/dist/services/$name/main.js" ] || { say "ERROR: dist/services/$name/main.js missing: run npm run build"; exit 1; }
  # A larger young generation cut the detector's CPU per event by about 20% (bench/README.md).
  BULWARK_SERVICE="$name" nohup node --max-semi-space-size=32 "$ROOT/dist/services/$name/main.js" >>"$RUN/$name.log" 2>&1 </dev/null &
  echo $! >"$RUN/$name.pid"
  local port; port="$(port_of "$name")"
  for _ in $(seq 1 150); do
    if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then say "$name ready on :$port (log $RUN/$name.log)"; return 0; fi
    if ! alive "$name"; then tail -n 20 "$RUN/$name.log" >&2; say "ERROR: $name exited"; exit 1; fi
    sleep 0.2
  done
  say "ERROR: $name not ready after 30s; see $RUN/$name.log"; exit 1
}

stop_one() {
  local name="$1"
  if alive "$name"; then
    local pid; pid="$(cat "$RUN/$name.pid")"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    say "$name stopped"
  fi
  rm -f "$RUN/$name.pid"
}

# The breaker signs its control messages and audit chain: without a key configured, use (or make) the
# local one under .cache/ (a file, never a command-line argument).
if [ -z "${BULWARK_CONTROL_KEY_FILE:-}" ] && [ -z "${BULWARK_CONTROL_KEYS:-}" ]; then
  BULWARK_CONTROL_KEY_FILE="$(bash "$ROOT/scripts/control-key.sh")"
  export BULWARK_CONTROL_KEY_FILE
fi

what="${2:-all}"
case "$what" in all) names=(detector breaker) ;; detector|breaker) names=("$what") ;; *) echo "usage: $0 start|stop detector|breaker|all" >&2; exit 2 ;; esac
case "${1:-}" in
  start) for n in "${names[@]}"; do start_one "$n"; done ;;
  stop) for n in "${names[@]}"; do stop_one "$n"; done ;;
  *) echo "usage: $0 start|stop detector|breaker|all" >&2; exit 2 ;;
esac
