#!/usr/bin/env bash
# The demo: sets up everything on a fresh clone, starts Kafka, Redis, the detector and the breaker, replays a
# simulated January-2022-style incident through Kafka, and shows when the global halt came and how much of
# the stolen value it stopped. Leaves the stack running; `bash scripts/stack.sh down` stops it.
#   DEMO_USERS (5000), DEMO_DURATION (2d), DEMO_ATTACK_USERS (483), DEMO_SPEED (max)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "installing what is missing (Debian packages, Node 22+, npm ci) and building"
bash scripts/tools.sh
# shellcheck source=node.sh
source scripts/node.sh
say "using node $(node --version) at $(command -v node)"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then npm ci --no-audit --no-fund; fi
npm run -s build

say "starting Kafka and Redis"
bash scripts/stack.sh up

DEMO="$ROOT/.cache/demo"
mkdir -p "$DEMO"
RUN_ID="demo-$(date +%s)"
# Two demo operators: tokens in mode-600 files under .cache/demo/operators, never in argv, env or logs.
OPS_DIR="$(bash scripts/demo-operators.sh "$DEMO/operators")"
cat >"$DEMO/env" <<ENV
export BULWARK_KEY_PREFIX=$RUN_ID
export BULWARK_TOPIC_PREFIX=$RUN_ID.
export BULWARK_DETECTOR_GROUP=$RUN_ID-detector
export BULWARK_BREAKER_GROUP=$RUN_ID-breaker
export BULWARK_OPERATORS_FILE='$OPS_DIR/operators'
ENV
# shellcheck disable=SC1091
source "$DEMO/env"

say "starting the detector and the breaker (namespace $RUN_ID)"
bash scripts/services.sh stop all >/dev/null 2>&1 || true
bash scripts/services.sh start all

say "simulating ${DEMO_USERS:-5000} users over ${DEMO_DURATION:-2d} with an attack on ${DEMO_ATTACK_USERS:-483} of them"
node dist/services/cli/main.js simulate --users "${DEMO_USERS:-5000}" --duration "${DEMO_DURATION:-2d}" \
  --start 2022-01-15T00:00:00Z --attack --attack-at 2022-01-17T00:00:00Z --attack-users "${DEMO_ATTACK_USERS:-483}" \
  --seed 17 --out "$DEMO/incident.jsonl"

say "replaying it through Kafka (the running services do the work)"
node dist/services/cli/main.js replay "$DEMO/incident.jsonl" --mode kafka --speed "${DEMO_SPEED:-max}" --report "$DEMO/report.json"

say "what happened"
node dist/services/cli/demo-summary.js "$DEMO/incident.jsonl" "$DEMO/report.json"

cat <<TXT

The stack is still running. Open the operator console at http://127.0.0.1:8081/console/ and sign in
with the token in $OPS_DIR/alice.token (a second browser, or a private window, with bob.token approves
the resume: four eyes). Or try:
  curl -s 'http://127.0.0.1:8081/v1/withdrawals/status?asset=ETH'
  curl -s -H @$OPS_DIR/alice.auth http://127.0.0.1:8081/v1/breaker/audit
  curl -s -H @$OPS_DIR/alice.auth -X POST -d '{"scope":"global","reason":"attack contained"}' http://127.0.0.1:8081/v1/breaker/resume
  curl -s -H @$OPS_DIR/bob.auth -X POST -d '{"scope":"global","reason":"verified, resuming"}' http://127.0.0.1:8081/v1/breaker/resume
  curl -s http://127.0.0.1:8080/metrics | grep ^bulwark_
Operator tokens (mode 600): $OPS_DIR/{alice,bob}.token; curl header files: $OPS_DIR/{alice,bob}.auth
Report: $DEMO/report.json   Log: $DEMO/incident.jsonl   Service logs: .cache/services/
Stop everything: bash scripts/stack.sh down
TXT
