#!/usr/bin/env bash
# The test command (`npm test`): build, type-check, lint, format check, alert-rule tests, unit tests, then
# integration and end-to-end tests against the real Kafka, Redis and Prometheus (scripts/stack.sh up first).
# BULWARK_UNIT_ONLY=1 runs only the fast part (no services needed).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=node.sh
source scripts/node.sh
echo "[test] node $(node --version) at $(command -v node)" >&2
step() { printf '\n== %s\n' "$*"; }
step build;        npm run -s build
step typecheck;    npx tsc -p tsconfig.json --noEmit
step lint;         npx eslint . --max-warnings 0
step format;       npx prettier --check . >/dev/null || { npx prettier --check .; exit 1; }
if [ -f deploy/prometheus/alerts.yml ]; then
  step "promtool check + test rules"
  promtool check rules deploy/prometheus/alerts.yml
  promtool test rules deploy/prometheus/alerts.test.yml
fi
if [ "${BULWARK_UNIT_ONLY:-0}" = 1 ]; then
  step "unit tests"; npx jest --selectProjects unit
else
  # --forceExit: a test that leaves a kafkajs retry loop behind must not hold CI until its time limit.
  step "unit + integration tests"; npx jest --runInBand --forceExit
fi
