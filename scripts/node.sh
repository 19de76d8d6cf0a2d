#!/usr/bin/env bash
# A supported Node.js first on PATH. Sourced by .ci/run, demo.sh and the scripts that start services:
#   BULWARK_NODE_MIN=24 source scripts/node.sh    (22 by default; .ci/run asks for 24)
# Uses the machine's node when its major version is at least MIN_MAJOR; otherwise installs the pinned
# Node ($BULWARK_NODE_VERSION) from the npm registry's node-linux-<arch> package (it ships bin/node; npm
# checks the tarball's integrity) into .cache/node/<version>, once, and puts its bin/ first on PATH.
# Node 20 is end-of-life; Bulwark supports 22 and 24 (package.json engines).
# Run directly (`bash scripts/node.sh`), it prints the node it would use.

BULWARK_NODE_VERSION="${BULWARK_NODE_VERSION:-24.22.3}"

bulwark_node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

bulwark_use_node() {
  local min="${1:-22}" root cache arch dir bin
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  cache="${BULWARK_CACHE:-$root/.cache}"
  if [ "$(bulwark_node_major)" -ge "$min" ]; then return 0; fi
  case "$(uname -m)" in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) echo "[node] ERROR: no pinned Node for $(uname -m); install Node.js $min or newer" >&2; return 1 ;;
  esac
  dir="$cache/node/$BULWARK_NODE_VERSION"
  bin="$dir/node_modules/node-linux-$arch/bin"
  if [ ! -x "$bin/node" ]; then
    if ! command -v npm >/dev/null; then
      echo "[node] npm missing: installing Debian's npm package to fetch Node $BULWARK_NODE_VERSION" >&2
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends npm >/dev/null
    fi
    echo "[node] machine's node is $(node --version 2>/dev/null || echo missing); installing Node $BULWARK_NODE_VERSION into $dir" >&2
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-save --no-package-lock --ignore-scripts --no-audit --no-fund --loglevel=error \
      "node-linux-$arch@$BULWARK_NODE_VERSION" >&2 || { echo "[node] ERROR: npm could not install node-linux-$arch@$BULWARK_NODE_VERSION" >&2; return 1; }
    "$bin/node" --version >/dev/null || { echo "[node] ERROR: $bin/node does not run" >&2; return 1; }
  fi
  export PATH="$bin:$PATH"
  hash -r
}

# A variable, not an argument: a sourced file without arguments sees its caller's "$1".
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  bulwark_use_node "${BULWARK_NODE_MIN:-22}"
  echo "node $(node --version) at $(command -v node)"
else
  bulwark_use_node "${BULWARK_NODE_MIN:-22}"
fi
