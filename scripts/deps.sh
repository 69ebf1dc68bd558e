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
