#!/usr/bin/env bash
# Runs every test of signrelay: unit, signaling integration (real WebSocket, real WebRTC), and
# end-to-end in real headless Chromium. Installs what is missing first; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/cache/signrelay/target}"
mkdir -p "$CARGO_TARGET_DIR" 2>/dev/null || export CARGO_TARGET_DIR="$PWD/target"

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || missing+=(fonts-noto-cjk)
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]}"
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ ! -d tests/e2e/node_modules/playwright-core ]; then
  echo "== installing playwright-core"
  (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
fi

echo "== cargo test (unit + signaling integration)"
cargo build --locked --bin signrelay
cargo test --locked

echo "== browser end-to-end (headless Chromium)"
SIGNRELAY_BIN="$CARGO_TARGET_DIR/debug/signrelay" node --test tests/e2e/
