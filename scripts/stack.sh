#!/usr/bin/env bash
# The local stack: a real Kafka broker (from Maven Central jars) and Redis, plus topic provisioning.
#   scripts/stack.sh up     - start Kafka and Redis (reusing running ones), create topics
#   scripts/stack.sh down   - stop the services Bulwark started (Kafka, Redis if it started it, demo services)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=node.sh
source "$ROOT/scripts/node.sh"
case "${1:-}" in
  up)
    "$ROOT/scripts/redis.sh" start
    "$ROOT/scripts/kafka.sh" start
    if [ -f "$ROOT/dist/services/provision/main.js" ]; then node "$ROOT/dist/services/provision/main.js"; fi
    ;;
  down)
    "$ROOT/scripts/services.sh" stop all 2>/dev/null || true
    "$ROOT/scripts/kafka.sh" stop
    "$ROOT/scripts/redis.sh" stop
    # The secured test broker and TLS Redis, if a test left them running.
    "$ROOT/scripts/kafka-secure.sh" stop 2>/dev/null || true
    "$ROOT/scripts/redis-tls.sh" stop 2>/dev/null || true
    "$ROOT/scripts/redis-cluster.sh" stop 2>/dev/null || true
    ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
