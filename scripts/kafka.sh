#!/usr/bin/env bash
# Runs a real single-node Apache Kafka 3.9 broker (KRaft, broker + controller) from Maven Central jars.
#   scripts/kafka.sh start|stop|status|fetch
# Environment: KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (9093), BULWARK_CACHE (.cache under the repo),
#              KAFKA_HEAP (512m), KAFKA_START_TIMEOUT seconds (120), KAFKA_RUN_DIR (the broker's config, data,
#              log and pid file: $BULWARK_CACHE/kafka/run; a test's own broker sets its own).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$ROOT/deploy/kafka/pom.xml")"
CACHE="${BULWARK_CACHE:-$ROOT/.cache}"
LIBS="$CACHE/kafka/libs-$KAFKA_VERSION"
RUN="${KAFKA_RUN_DIR:-$CACHE/kafka/run}"
DATA="$RUN/data"
PIDFILE="$RUN/kafka.pid"
LOG="$RUN/server.log"
PORT="${KAFKA_PORT:-9092}"
CPORT="${KAFKA_CONTROLLER_PORT:-9093}"
HEAP="${KAFKA_HEAP:-512m}"
TIMEOUT="${KAFKA_START_TIMEOUT:-120}"

say() { printf '[kafka] %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pid_alive() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

fetch() {
  if [ -f "$LIBS/.complete" ]; then return 0; fi
  command -v mvn >/dev/null || die "Maven (mvn) is needed to fetch the Kafka jars; install it (apt-get install maven)."
  command -v java >/dev/null || die "Java 17 is needed to run Kafka; install it (apt-get install openjdk-17-jre-headless)."
  say "fetching Kafka $KAFKA_VERSION jars from Maven Central into $LIBS"
  rm -rf "$LIBS"; mkdir -p "$LIBS"
  mvn -q -B -f "$ROOT/deploy/kafka/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$LIBS" || die "Maven could not resolve the Kafka jars (see above)."
  touch "$LIBS/.complete"
}

java_cmd() {
  # shellcheck disable=SC2206
  JAVA=(java -Xms"$HEAP" -Xmx"$HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true
    -Dlog4j.configuration="file:$ROOT/deploy/kafka/log4j.properties" -cp "$LIBS/*")
}

write_config() {
  mkdir -p "$DATA"
  cat >"$RUN/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CPORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$DATA
num.partitions=6
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=168
log.segment.bytes=67108864
log.cleaner.enable=true
num.io.threads=4
num.network.threads=2
PROPS
}

start() {
  if pid_alive && port_open "$PORT"; then
    say "already running (pid $(cat "$PIDFILE")) on 127.0.0.1:$PORT"
    return 0
  fi
  if pid_alive; then
    say "pid $(cat "$PIDFILE") alive but port $PORT closed: stopping it before a fresh start"
    stop
  elif [ -f "$PIDFILE" ]; then
    say "removing stale pid file (process $(cat "$PIDFILE") is gone)"
    rm -f "$PIDFILE"
  fi
  if port_open "$PORT"; then
    die "port $PORT is taken by a process this script did not start; stop it or set KAFKA_PORT"
  fi
  fetch
  write_config
  java_cmd
  if [ ! -f "$DATA/meta.properties" ]; then
    local cid
    cid="$("${JAVA[@]}" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)"
    [ -n "$cid" ] || die "could not generate a cluster id (java -cp $LIBS/* kafka.tools.StorageTool random-uuid)"
    "${JAVA[@]}" kafka.tools.StorageTool format -t "$cid" -c "$RUN/server.properties" --ignore-formatted >>"$LOG" 2>&1 \
      || die "formatting storage failed; see $LOG"
  fi
  rm -f "$DATA/.lock"
  say "starting Kafka $KAFKA_VERSION on 127.0.0.1:$PORT (log: $LOG)"
  nohup setsid "${JAVA[@]}" kafka.Kafka "$RUN/server.properties" >>"$LOG" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  local start_line; start_line=$(wc -l <"$LOG")
  local waited=0
  # grep reads all its input (no -q): an early exit would SIGPIPE tail and fail the pipeline under pipefail.
  until tail -n +"$start_line" "$LOG" | grep 'Kafka Server started' >/dev/null && port_open "$PORT"; do
    if ! pid_alive; then
      tail -n 40 "$LOG" >&2
      rm -f "$PIDFILE"
      die "the broker exited during start-up; the log above says why (full log: $LOG)"
    fi
    if [ "$waited" -ge "$TIMEOUT" ]; then
      tail -n 40 "$LOG" >&2
      die "the broker did not accept connections within ${TIMEOUT}s (full log: $LOG)"
    fi
    sleep 1; waited=$((waited + 1))
  done
  say "ready after ${waited}s (pid $(cat "$PIDFILE"))"
}

stop() {
  if ! pid_alive; then
    rm -f "$PIDFILE"
    say "not running"
    return 0
  fi
  local pid; pid="$(cat "$PIDFILE")"
  say "stopping pid $pid"
  kill -TERM "$pid" 2>/dev/null || true
  local waited=0
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$waited" -ge 30 ]; then say "still alive after 30s: SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; fi
    sleep 1; waited=$((waited + 1))
  done
  rm -f "$PIDFILE"
}

status() {
  if pid_alive && port_open "$PORT"; then echo "running pid=$(cat "$PIDFILE") port=$PORT"; else echo "stopped"; return 1; fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  fetch) fetch ;;
  reset) stop; rm -rf "$DATA"; say "data removed" ;;
  *) echo "usage: $0 start|stop|status|fetch|reset" >&2; exit 2 ;;
esac
