#!/usr/bin/env bash
# A real 6-node Redis Cluster (3 masters, 3 replicas) from Debian's redis-server, for the window store's
# cluster tests. It never touches the shared Redis of scripts/redis.sh: six free local ports, its own files
# under .cache/redis-cluster, no persistence (a restart is a fresh, empty cluster).
#   scripts/redis-cluster.sh start|stop|status
# `start` writes .cache/redis-cluster/env: REDIS_CLUSTER_NODES=127.0.0.1:P1,...,127.0.0.1:P6 (the seed nodes).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN="${BULWARK_CACHE:-$ROOT/.cache}/redis-cluster"
ENVFILE="$RUN/env"
NODES=6

say() { printf '[redis-cluster] %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
ports() { sed -n 's/^REDIS_CLUSTER_NODES=//p' "$ENVFILE" 2>/dev/null | tr ',' '\n' | sed 's/.*://'; }
alive() { [ -f "$RUN/$1.pid" ] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }
cluster_ok() {
  local p; p="$(ports | head -n 1)"
  [ -n "$p" ] && redis-cli -p "$p" cluster info 2>/dev/null | grep -q '^cluster_state:ok'
}
free_ports() {
  # Six consecutive free ports, each with its cluster bus port (+10000) free too.
  local base p ok
  for _ in $(seq 1 100); do
    base=$((20000 + RANDOM % 20000)); ok=1
    for p in $(seq "$base" $((base + NODES - 1))); do
      if port_open "$p" || port_open $((p + 10000)); then ok=0; break; fi
    done
    [ "$ok" = 1 ] && { seq "$base" $((base + NODES - 1)); return 0; }
  done
  die "no six free ports found"
}

start() {
  if [ -f "$ENVFILE" ] && cluster_ok; then
    say "already running: $(sed -n 's/^REDIS_CLUSTER_NODES=//p' "$ENVFILE")"
    return 0
  fi
  stop >/dev/null 2>&1 || true
  command -v redis-server >/dev/null || die "redis-server is needed (apt-get install redis-server)"
  command -v redis-cli >/dev/null || die "redis-cli is needed (apt-get install redis-tools)"
  rm -rf "$RUN"; mkdir -p "$RUN"; chmod 700 "$RUN"
  local list=() p
  for p in $(free_ports); do
    redis-server --daemonize yes --bind 127.0.0.1 --port "$p" --cluster-enabled yes \
      --cluster-config-file "nodes-$p.conf" --cluster-node-timeout 2000 --save '' --appendonly no \
      --dir "$RUN" --logfile "$RUN/$p.log" --pidfile "$RUN/$p.pid" || die "redis-server on $p did not start; see $RUN/$p.log"
    list+=("127.0.0.1:$p")
  done
  for p in "${list[@]##*:}"; do
    for _ in $(seq 1 50); do port_open "$p" && break; sleep 0.1; done
    port_open "$p" || die "node $p did not listen; see $RUN/$p.log"
  done
  redis-cli --cluster create "${list[@]}" --cluster-replicas 1 --cluster-yes >"$RUN/create.log" 2>&1 ||
    { cat "$RUN/create.log" >&2; die "redis-cli --cluster create failed"; }
  (IFS=,; echo "REDIS_CLUSTER_NODES=${list[*]}") >"$ENVFILE"
  for _ in $(seq 1 100); do
    if cluster_ok; then say "6 nodes on ${list[*]}; settings in $ENVFILE"; return 0; fi
    sleep 0.2
  done
  die "cluster_state did not become ok within 20s; see $RUN/*.log"
}

stop() {
  local f pid
  shopt -s nullglob
  for f in "$RUN"/*.pid; do
    pid="$(cat "$f")"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$f"
  done
  rm -f "$ENVFILE"
  say "stopped"
}

status() {
  if [ -f "$ENVFILE" ] && cluster_ok; then echo "running $(sed -n 's/^REDIS_CLUSTER_NODES=//p' "$ENVFILE")"
  else echo "stopped"; return 1; fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
