#!/usr/bin/env bash
# Makes sure a Redis 7 answers on 127.0.0.1:${REDIS_PORT:-6379}: uses the one running, otherwise starts
# redis-server (installing Debian's package where it is missing). `stop` stops only a Redis this script started.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PORT="${REDIS_PORT:-6379}"
RUN="${BULWARK_CACHE:-$ROOT/.cache}/redis"
say() { printf '[redis] %s\n' "$*" >&2; }
answers() { command -v redis-cli >/dev/null && [ "$(redis-cli -h 127.0.0.1 -p "$PORT" ping 2>/dev/null)" = "PONG" ]; }

start() {
  if answers; then say "using the Redis already on 127.0.0.1:$PORT"; return 0; fi
  if ! command -v redis-server >/dev/null; then
    say "redis-server missing: installing Debian's redis-server package"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null && apt-get install -y -qq redis-server >/dev/null
  fi
  mkdir -p "$RUN"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$PORT" --save '' --appendonly no \
    --dir "$RUN" --logfile "$RUN/redis.log" --pidfile "$RUN/redis.pid"
  for _ in $(seq 1 50); do answers && { touch "$RUN/started-by-bulwark"; say "started on 127.0.0.1:$PORT"; return 0; }; sleep 0.2; done
  say "ERROR: redis-server did not answer within 10s; see $RUN/redis.log"; exit 1
}

stop() {
  if [ -f "$RUN/started-by-bulwark" ] && [ -f "$RUN/redis.pid" ]; then
    kill "$(cat "$RUN/redis.pid")" 2>/dev/null || true
    rm -f "$RUN/started-by-bulwark" "$RUN/redis.pid"
    say "stopped"
  else
    say "not started by Bulwark: left running"
  fi
}
case "${1:-}" in start) start ;; stop) stop ;; *) echo "usage: $0 start|stop" >&2; exit 2 ;; esac
