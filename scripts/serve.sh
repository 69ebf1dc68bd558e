#!/usr/bin/env bash
# Builds and runs the server on its embedded defaults (http://127.0.0.1:8080). Installs the
# build tools it needs first; extra arguments go to `signrelay serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
install_missing "${BUILD_PACKAGES[@]}"
exec cargo run --release --locked -- serve "$@"
