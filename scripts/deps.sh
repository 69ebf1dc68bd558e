#!/usr/bin/env bash
# Installs the Debian packages named as arguments when they are missing (idempotent).
# Sourced by serve.sh and test.sh; uses sudo when not root.
install_missing() {
  local missing=() p
  for p in "$@"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "== installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# Building whisper.cpp (whisper-rs) needs cmake, a C++ compiler and libclang.
BUILD_PACKAGES=(cmake g++ libclang-dev)

# whisper-rs-sys reads its cmake options (set in .cargo/config.toml) only when its build script
# first runs, and cargo does not rerun it when they change: a target dir built before them keeps
# the slower whisper.cpp. Drops such a build once so the next cargo command redoes it.
refresh_whisper_build() {
  local dir="${CARGO_TARGET_DIR:-target}" cache stale=0
  for cache in "$dir"/*/build/whisper-rs-sys-*/out/build/CMakeCache.txt; do
    [ -f "$cache" ] || continue
    grep -q '^GGML_LLAMAFILE:BOOL=ON' "$cache" || stale=1
  done
  if [ "$stale" = 1 ]; then
    echo "== whisper.cpp was built without the options in .cargo/config.toml; rebuilding it" >&2
    cargo clean -p whisper-rs-sys >/dev/null 2>&1 || true
    cargo clean --release -p whisper-rs-sys >/dev/null 2>&1 || true
  fi
}

# Starts Debian's PostgreSQL (installed if missing) and exports SIGNRELAY_TEST_POSTGRES for the
# store tests: a login role "signrelay" owning a database "signrelay" and allowed to create the
# tests' own databases. Idempotent.
start_test_postgres() {
  [ -n "${SIGNRELAY_TEST_POSTGRES:-}" ] && return 0
  install_missing postgresql
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  local ver cluster port
  ver=$(ls /usr/lib/postgresql | sort -V | tail -1)
  cluster=$(pg_lsclusters -h | awk -v v="$ver" '$1==v {print $2; exit}')
  if [ -z "$cluster" ]; then
    $sudo pg_createcluster "$ver" main >/dev/null
    cluster=main
  fi
  if ! pg_lsclusters -h | awk -v v="$ver" -v c="$cluster" '$1==v && $2==c' | grep -q online; then
    $sudo pg_ctlcluster "$ver" "$cluster" start
  fi
  port=$(pg_lsclusters -h | awk -v v="$ver" -v c="$cluster" '$1==v && $2==c {print $3}')
  local psql=(sudo -u postgres psql -p "$port" -tAq)
  [ "$(id -u)" -eq 0 ] && psql=(su postgres -c "psql -p $port -tAq -f -")
  if ! echo "SELECT 1 FROM pg_roles WHERE rolname = 'signrelay'" | "${psql[@]}" | grep -q 1; then
    echo "CREATE ROLE signrelay LOGIN CREATEDB PASSWORD 'signrelay'" | "${psql[@]}" >/dev/null
  fi
  if ! echo "SELECT 1 FROM pg_database WHERE datname = 'signrelay'" | "${psql[@]}" | grep -q 1; then
    echo "CREATE DATABASE signrelay OWNER signrelay" | "${psql[@]}" >/dev/null
  fi
  export SIGNRELAY_TEST_POSTGRES="postgres://signrelay:signrelay@127.0.0.1:$port/signrelay"
}
