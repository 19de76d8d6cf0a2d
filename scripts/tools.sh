#!/usr/bin/env bash
# Installs from Debian what the tests need beyond Node: promtool + prometheus (alert rule tests and the
# end-to-end scrape), kcat (an independent Kafka producer), Java 17 and Maven (the broker), redis-server and
# openssl (the TLS Redis and SASL_SSL broker tests), chromium (the console's browser test). Idempotent.
set -euo pipefail
need=()
command -v promtool >/dev/null || need+=(prometheus)
command -v kcat >/dev/null || need+=(kcat)
command -v java >/dev/null || need+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || need+=(maven)
command -v redis-cli >/dev/null || need+=(redis-tools)
# The TLS Redis and the SASL_SSL broker of the transport tests: redis-server and openssl for certificates.
command -v redis-server >/dev/null || need+=(redis-server)
command -v openssl >/dev/null || need+=(openssl)
# The operator console's browser test: Debian's Chromium, driven by playwright-core (its own download does not work here).
command -v chromium >/dev/null || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  echo "[tools] installing from Debian: ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# Debian's prometheus package may start a system server on :9090; the tests run their own on free ports.
echo "[tools] ok: $(promtool --version 2>&1 | head -n1)" >&2
