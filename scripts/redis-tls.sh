#!/usr/bin/env bash
# A second Redis, TLS only, with ACL users, for testing Bulwark's `rediss://` and ACL settings. It never touches
# the shared Redis of scripts/redis.sh: its own free port, its own files under .cache/redis-tls.
#   scripts/redis-tls.sh start|stop|status|reset
# What it sets up:
#   - certs/: a CA and a server certificate for 127.0.0.1/localhost (openssl); clients need no certificate;
#   - secrets/<user>.password (mode 600): random passwords; the ACL file holds only their SHA-256;
#   - users: `default` off (no unauthenticated access), `admin` (everything), `bulwark` limited to keys and
#     channels matching $REDIS_TLS_KEY_PATTERN (bulwark:*) and without @dangerous commands (FLUSHALL, KEYS...),
#     `guard` (withdrawal services) that may only read the breaker's state keys under that pattern;
#   - env: the port, a rediss:// URL for the bulwark user and the file paths, for tests and `source`.
# No persistence (--save '' --appendonly no): a restart starts empty. Environment: REDIS_TLS_PORT (free port).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN="${BULWARK_CACHE:-$ROOT/.cache}/redis-tls"
CERTS="$RUN/certs"
SECRETS="$RUN/secrets"
PIDFILE="$RUN/redis.pid"
ENVFILE="$RUN/env"
PATTERN="${REDIS_TLS_KEY_PATTERN:-bulwark:*}"
USERS=(admin bulwark guard)

say() { printf '[redis-tls] %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pid_alive() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }
env_get() { sed -n "s/^$1=//p" "$ENVFILE" 2>/dev/null | tail -n 1; }
free_port() {
  local p
  for _ in $(seq 1 100); do
    p=$((20000 + RANDOM % 30000))
    port_open "$p" || { echo "$p"; return 0; }
  done
  die "no free port found"
}

make_certs() {
  [ -f "$CERTS/ca.pem" ] && [ -f "$CERTS/server.pem" ] && return 0
  command -v openssl >/dev/null || die "openssl is needed to make the test certificates (apt-get install openssl)"
  rm -rf "$CERTS"; mkdir -p "$CERTS"; chmod 700 "$CERTS"
  (
    cd "$CERTS"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 30 -subj "/CN=bulwark-test-redis-ca" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=localhost" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 30 \
      -extfile server.ext 2>/dev/null
    chmod 600 ./*.key
  )
}

make_acl() {
  mkdir -p "$SECRETS"; chmod 700 "$SECRETS"
  local name
  for name in "${USERS[@]}"; do
    [ -s "$SECRETS/$name.password" ] || (umask 077; od -An -N24 -tx1 /dev/urandom | tr -d ' \n' >"$SECRETS/$name.password")
  done
  hash() { printf '%s' "$(cat "$SECRETS/$1.password")" | sha256sum | cut -d' ' -f1; }
  (
    umask 077
    {
      echo "user default off resetkeys resetchannels -@all"
      echo "user admin on #$(hash admin) ~* &* +@all"
      # +info: ioredis's ready check asks for INFO; it reveals server facts, no data.
      echo "user bulwark on #$(hash bulwark) resetkeys ~$PATTERN resetchannels &$PATTERN +@all -@dangerous +info"
      # What libs/withdrawal-guard reads (MGET of state:<scope>, SMEMBERS of scopes), read-only: a leaked
      # guard credential cannot write a snapshot that opens the gates.
      echo "user guard on #$(hash guard) resetkeys %R~$PATTERN{breaker}:state:* %R~$PATTERN{breaker}:scopes resetchannels -@all +auth +hello +ping +info +mget +get +smembers"
    } >"$RUN/users.acl"
  )
}

start() {
  if pid_alive && port_open "$(env_get REDIS_TLS_PORT)"; then
    say "already running (pid $(cat "$PIDFILE")) on 127.0.0.1:$(env_get REDIS_TLS_PORT)"
    return 0
  fi
  pid_alive && stop
  command -v redis-server >/dev/null || die "redis-server is needed (apt-get install redis-server)"
  mkdir -p "$RUN"; chmod 700 "$RUN"
  local port="${REDIS_TLS_PORT:-$(free_port)}"
  port_open "$port" && die "port $port is taken; set REDIS_TLS_PORT"
  make_certs
  make_acl
  rm -f "$PIDFILE"
  redis-server --daemonize yes --bind 127.0.0.1 --port 0 --tls-port "$port" \
    --tls-cert-file "$CERTS/server.pem" --tls-key-file "$CERTS/server.key" --tls-ca-cert-file "$CERTS/ca.pem" \
    --tls-auth-clients no --aclfile "$RUN/users.acl" --save '' --appendonly no \
    --dir "$RUN" --logfile "$RUN/redis.log" --pidfile "$PIDFILE" || die "redis-server did not start; see $RUN/redis.log"
  for _ in $(seq 1 50); do
    if port_open "$port" && pid_alive; then
      {
        echo "REDIS_TLS_PORT=$port"
        echo "REDIS_TLS_URL=rediss://bulwark@127.0.0.1:$port"
        echo "REDIS_TLS_CA_FILE=$CERTS/ca.pem"
        echo "REDIS_TLS_KEY_PATTERN=$PATTERN"
        for name in "${USERS[@]}"; do echo "REDIS_TLS_${name^^}_PASSWORD_FILE=$SECRETS/$name.password"; done
      } >"$ENVFILE"
      say "TLS on 127.0.0.1:$port (pid $(cat "$PIDFILE")); settings in $ENVFILE"
      return 0
    fi
    sleep 0.2
  done
  tail -n 20 "$RUN/redis.log" >&2
  die "redis-server did not listen within 10s; see $RUN/redis.log"
}

stop() {
  if ! pid_alive; then rm -f "$PIDFILE"; say "not running"; return 0; fi
  local pid; pid="$(cat "$PIDFILE")"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$PIDFILE"
  say "stopped"
}

status() {
  if pid_alive && port_open "$(env_get REDIS_TLS_PORT)"; then
    echo "running pid=$(cat "$PIDFILE") port=$(env_get REDIS_TLS_PORT)"
  else
    echo "stopped"; return 1
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  reset) stop; rm -rf "$RUN"; say "certificates, passwords and ACL file removed" ;;
  *) echo "usage: $0 start|stop|status|reset" >&2; exit 2 ;;
esac
