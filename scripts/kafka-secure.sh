#!/usr/bin/env bash
# A second, secured single-node Kafka broker (KRaft) for testing Bulwark against SASL_SSL with ACLs. It never
# touches the shared broker of scripts/kafka.sh: own ports (free ones picked at start), own data under .cache.
#   scripts/kafka-secure.sh start|stop|status|reset
# What it sets up, all under $BULWARK_CACHE/kafka-secure (.cache/kafka-secure):
#   - certs/: a CA and a broker certificate for 127.0.0.1/localhost (openssl), PEM key and trust stores;
#   - secrets/<name>.password: random SCRAM-SHA-512 passwords (mode 600) for admin, breaker and detector,
#     written at format time (StorageTool --add-scram, passed in a Java @argfile so they are never in argv);
#   - a SASL_SSL listener (SCRAM-SHA-256/512) for clients; the controller listener is PLAINTEXT on loopback;
#   - StandardAuthorizer, no access without an ACL; super user admin; the breaker may write the control and
#     audit topics, the detector may read the input topics and write flags and DLQs (see add_acls);
#   - env: the broker address and file paths, for tests and `source`.
# Environment: KAFKA_SECURE_PORT, KAFKA_SECURE_CONTROLLER_PORT (free ports when unset), KAFKA_SECURE_HEAP (256m),
#              KAFKA_START_TIMEOUT seconds (120), BULWARK_TOPIC_PREFIX (empty) for the topic names in the ACLs.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$ROOT/deploy/kafka/pom.xml")"
CACHE="${BULWARK_CACHE:-$ROOT/.cache}"
LIBS="$CACHE/kafka/libs-$KAFKA_VERSION"
RUN="$CACHE/kafka-secure"
DATA="$RUN/data"
CERTS="$RUN/certs"
SECRETS="$RUN/secrets"
PIDFILE="$RUN/kafka.pid"
LOG="$RUN/server.log"
ENVFILE="$RUN/env"
HEAP="${KAFKA_SECURE_HEAP:-256m}"
TIMEOUT="${KAFKA_START_TIMEOUT:-120}"
PRINCIPALS=(admin breaker detector)
TP="${BULWARK_TOPIC_PREFIX:-}"

say() { printf '[kafka-secure] %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pid_alive() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }
free_port() {
  local p
  for _ in $(seq 1 100); do
    p=$((20000 + RANDOM % 30000))
    port_open "$p" || { echo "$p"; return 0; }
  done
  die "no free port found"
}
# Reads KEY from the env file of the last start.
env_get() { sed -n "s/^$1=//p" "$ENVFILE" 2>/dev/null | tail -n 1; }

java_cmd() {
  JAVA=(java -Xms"$HEAP" -Xmx"$HEAP" -XX:+UseG1GC -Djava.awt.headless=true
    -Dlog4j.configuration="file:$ROOT/deploy/kafka/log4j.properties" -cp "$LIBS/*")
}

make_certs() {
  [ -f "$CERTS/ca.pem" ] && [ -f "$CERTS/broker-keystore.pem" ] && return 0
  command -v openssl >/dev/null || die "openssl is needed to make the test certificates (apt-get install openssl)"
  say "making a CA and a broker certificate in $CERTS"
  rm -rf "$CERTS"; mkdir -p "$CERTS"; chmod 700 "$CERTS"
  (
    cd "$CERTS"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 30 -subj "/CN=bulwark-test-ca" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout broker.key -out broker.csr -subj "/CN=localhost" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' >broker.ext
    openssl x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out broker.pem -days 30 \
      -extfile broker.ext 2>/dev/null
    # Kafka's PEM keystore: the PKCS#8 key followed by the certificate chain.
    cat broker.key broker.pem ca.pem >broker-keystore.pem
    chmod 600 ./*.key broker-keystore.pem
  )
}

make_secrets() {
  mkdir -p "$SECRETS"; chmod 700 "$SECRETS"
  local name
  for name in "${PRINCIPALS[@]}"; do
    [ -s "$SECRETS/$name.password" ] && continue
    (umask 077; od -An -N24 -tx1 /dev/urandom | tr -d ' \n' >"$SECRETS/$name.password")
  done
}

write_config() {
  local port="$1" cport="$2" admin_pw
  admin_pw="$(cat "$SECRETS/admin.password")"
  mkdir -p "$DATA"
  (
    umask 077
    cat >"$RUN/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=SASL_SSL://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=SASL_SSL://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT
inter.broker.listener.name=SASL_SSL
sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$admin_pw";
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PEM
ssl.keystore.location=$CERTS/broker-keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=$CERTS/ca.pem
ssl.endpoint.identification.algorithm=https
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
# ANONYMOUS is the broker itself on the loopback PLAINTEXT controller listener (KRaft needs it super).
super.users=User:admin;User:ANONYMOUS
log.dirs=$DATA
num.partitions=3
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
num.io.threads=2
num.network.threads=2
PROPS
    cat >"$RUN/admin.properties" <<PROPS
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$admin_pw";
ssl.truststore.type=PEM
ssl.truststore.location=$CERTS/ca.pem
PROPS
  )
}

format_storage() {
  [ -f "$DATA/meta.properties" ] && return 0
  local cid name argfile="$RUN/format.args"
  cid="$("${JAVA[@]}" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)"
  [ -n "$cid" ] || die "could not generate a cluster id"
  # The SCRAM passwords go through an @argfile (mode 600), so no process listing shows them.
  (
    umask 077
    printf '%s\n' kafka.tools.StorageTool format -t "$cid" -c "$RUN/server.properties" >"$argfile"
    for name in "${PRINCIPALS[@]}"; do
      printf -- '--add-scram\nSCRAM-SHA-512=[name=%s,password=%s]\n' "$name" "$(cat "$SECRETS/$name.password")" >>"$argfile"
      printf -- '--add-scram\nSCRAM-SHA-256=[name=%s,password=%s]\n' "$name" "$(cat "$SECRETS/$name.password")" >>"$argfile"
    done
  )
  "${JAVA[@]}" "@$argfile" >>"$LOG" 2>&1 || { rm -f "$argfile"; die "formatting storage failed; see $LOG"; }
  rm -f "$argfile" "$RUN"/acls.*done
}

acl() {
  "${JAVA[@]}" kafka.admin.AclCommand --bootstrap-server "127.0.0.1:$1" --command-config "$RUN/admin.properties" \
    --add --force "${@:2}" >>"$LOG" 2>&1 || die "adding ACLs failed ($*); see $LOG"
}

# Least privilege per principal (contract section 1: who writes which topic). Describe on every Bulwark topic
# lets a service see that the topics exist (it then skips creating them); it grants no read or write.
add_acls() {
  local port="$1" mark
  # The marker names this function's digest, so a broker kept from before a change of the ACLs gets them.
  mark="$RUN/acls.$(declare -f add_acls | sha256sum | cut -c1-12).done"
  [ -f "$mark" ] && return 0
  local auth="${TP}auth.events.v1" wallet="${TP}wallet.events.v1" flags="${TP}risk.flags.v1"
  local control="${TP}withdrawals.control.v1" audit="${TP}withdrawals.audit.v1"
  local all=(--topic "$auth" --topic "$wallet" --topic "$flags" --topic "$control" --topic "$audit"
    --topic "$auth.dlq" --topic "$wallet.dlq" --topic "$flags.dlq")
  say "adding ACLs (breaker writes control and audit; detector reads input, writes flags and DLQs)"
  acl "$port" --allow-principal User:breaker --allow-principal User:detector --operation Describe "${all[@]}"
  # Read-only: at start each service checks the DLQ topics' max.message.bytes can hold a dead letter.
  acl "$port" --allow-principal User:breaker --allow-principal User:detector --operation DescribeConfigs \
    --topic "$auth.dlq" --topic "$wallet.dlq" --topic "$flags.dlq"
  acl "$port" --allow-principal User:breaker --operation Write --topic "$control" --topic "$audit" --topic "$flags.dlq"
  acl "$port" --allow-principal User:breaker --operation Read --topic "$control" --topic "$audit" --topic "$flags"
  acl "$port" --allow-principal User:detector --operation Read --topic "$auth" --topic "$wallet"
  acl "$port" --allow-principal User:detector --operation Write --topic "$flags" --topic "$auth.dlq" --topic "$wallet.dlq"
  acl "$port" --allow-principal User:breaker --operation Read --resource-pattern-type prefixed --group bulwark-breaker
  acl "$port" --allow-principal User:detector --operation Read --resource-pattern-type prefixed --group bulwark-detector
  # The breaker's stall watch reads the detector group's committed offsets.
  acl "$port" --allow-principal User:breaker --operation Describe --resource-pattern-type prefixed --group bulwark-detector
  touch "$mark"
}

start() {
  if pid_alive && port_open "$(env_get KAFKA_SECURE_PORT)"; then
    say "already running (pid $(cat "$PIDFILE")) on 127.0.0.1:$(env_get KAFKA_SECURE_PORT)"
    return 0
  fi
  pid_alive && stop
  rm -f "$PIDFILE"
  [ -f "$LIBS/.complete" ] || "$ROOT/scripts/kafka.sh" fetch
  command -v java >/dev/null || die "Java 17 is needed (apt-get install openjdk-17-jre-headless)"
  mkdir -p "$RUN"; chmod 700 "$RUN"
  # The ports of the last start are kept where still free, so a restart keeps its address.
  local port="${KAFKA_SECURE_PORT:-$(env_get KAFKA_SECURE_PORT)}" cport="${KAFKA_SECURE_CONTROLLER_PORT:-$(env_get KAFKA_SECURE_CONTROLLER_PORT)}"
  if [ -z "$port" ] || { [ -z "${KAFKA_SECURE_PORT:-}" ] && port_open "$port"; }; then port="$(free_port)"; fi
  if [ -z "$cport" ] || [ "$cport" = "$port" ] || { [ -z "${KAFKA_SECURE_CONTROLLER_PORT:-}" ] && port_open "$cport"; }; then cport="$(free_port)"; fi
  port_open "$port" && die "port $port is taken; set KAFKA_SECURE_PORT"
  make_certs
  make_secrets
  write_config "$port" "$cport"
  java_cmd
  format_storage
  rm -f "$DATA/.lock"
  say "starting Kafka $KAFKA_VERSION with SASL_SSL on 127.0.0.1:$port (log: $LOG)"
  : >>"$LOG"
  local start_line; start_line=$(wc -l <"$LOG")
  nohup setsid "${JAVA[@]}" kafka.Kafka "$RUN/server.properties" >>"$LOG" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  local waited=0
  until tail -n +"$start_line" "$LOG" | grep 'Kafka Server started' >/dev/null && port_open "$port"; do
    if ! pid_alive; then
      tail -n 30 "$LOG" >&2; rm -f "$PIDFILE"
      die "the broker exited during start-up; the log above says why (full log: $LOG)"
    fi
    [ "$waited" -lt "$TIMEOUT" ] || { tail -n 30 "$LOG" >&2; die "not ready within ${TIMEOUT}s (log: $LOG)"; }
    sleep 1; waited=$((waited + 1))
  done
  add_acls "$port"
  {
    echo "KAFKA_SECURE_PORT=$port"
    echo "KAFKA_SECURE_CONTROLLER_PORT=$cport"
    echo "KAFKA_SECURE_BROKERS=127.0.0.1:$port"
    echo "KAFKA_SECURE_CA_FILE=$CERTS/ca.pem"
    for name in "${PRINCIPALS[@]}"; do echo "KAFKA_SECURE_${name^^}_PASSWORD_FILE=$SECRETS/$name.password"; done
  } >"$ENVFILE"
  say "ready after ${waited}s (pid $(cat "$PIDFILE")); settings in $ENVFILE"
}

stop() {
  if ! pid_alive; then rm -f "$PIDFILE"; say "not running"; return 0; fi
  local pid; pid="$(cat "$PIDFILE")"
  say "stopping pid $pid"
  kill -TERM "$pid" 2>/dev/null || true
  local waited=0
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$waited" -ge 30 ]; then kill -KILL "$pid" 2>/dev/null || true; fi
    sleep 1; waited=$((waited + 1))
  done
  rm -f "$PIDFILE"
}

status() {
  if pid_alive && port_open "$(env_get KAFKA_SECURE_PORT)"; then
    echo "running pid=$(cat "$PIDFILE") port=$(env_get KAFKA_SECURE_PORT)"
  else
    echo "stopped"; return 1
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  reset) stop; rm -rf "$RUN"; say "data, certificates and passwords removed" ;;
  *) echo "usage: $0 start|stop|status|reset" >&2; exit 2 ;;
esac
