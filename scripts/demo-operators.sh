#!/usr/bin/env bash
# Makes the demo's two operators, alice and bob, under DIR (default .cache/demo/operators): their tokens in
# DIR/<name>.token, a curl header file DIR/<name>.auth (`curl -H @DIR/alice.auth ...`), and the breaker's
# operators file DIR/operators (salted hashes only). Every file is mode 600; no token is ever an argument of
# a command or printed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${1:-$ROOT/.cache/demo/operators}"
umask 077
mkdir -p "$DIR"
rm -f "$DIR"/operators "$DIR"/*.token "$DIR"/*.auth
for name in alice bob; do
  node "$ROOT/dist/services/breaker/hash-token.js" "$name" --token-file "$DIR/$name.token" >>"$DIR/operators" 2>/dev/null
  # printf is a shell builtin and the token comes from a redirect: neither shows in `ps`.
  { printf 'Authorization: Bearer '; cat; } <"$DIR/$name.token" >"$DIR/$name.auth"
done
echo "$DIR"
