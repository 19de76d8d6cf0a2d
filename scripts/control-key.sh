#!/usr/bin/env bash
# Makes the breaker's control signing key file (kid:base64secret, 32 random bytes) if it does not exist,
# readable by its owner only, and prints its path (never the key). Usage: scripts/control-key.sh [FILE]
#   export BULWARK_CONTROL_KEY_FILE="$(scripts/control-key.sh)"
# To rotate: put a new line (new kid) first, keep the old one below it until no message signed with it matters.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FILE="${1:-${BULWARK_CACHE:-$ROOT/.cache}/control-key}"
mkdir -p "$(dirname "$FILE")"
if [ ! -s "$FILE" ]; then
  (umask 077; node -e 'const c=require("crypto");process.stdout.write(`k${Date.now().toString(36)}:${c.randomBytes(32).toString("base64")}\n`)' >"$FILE")
fi
echo "$FILE"
