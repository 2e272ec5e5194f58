#!/usr/bin/env bash
# Sets up what the tests need and runs every one of them: on a fresh
# Debian or Ubuntu machine with only a Rust toolchain and a C compiler, it
# installs (and says so) the system packages the tests use, then runs
# `cargo test --release --features onnx,heic` with any extra arguments.
#   libheif-dev        HEIC photos (the `heic` feature links the system's libheif)
#   pkg-config         how libheif-sys finds it
#   chromium, chromium-driver   the browser tests drive the web page in a real browser
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo is missing: this project needs a Rust toolchain (1.87+)" >&2
    exit 1
fi
need=()
command -v cc >/dev/null 2>&1 || need+=(gcc)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
pkg-config --exists libheif 2>/dev/null || need+=(libheif-dev)
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -x /usr/bin/chromedriver ] || need+=(chromium-driver)
if [ ${#need[@]} -gt 0 ]; then
    echo "installing with apt-get: ${need[*]}"
    sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo=(sudo)
        else
            echo "not root and no sudo: install ${need[*]} (Debian packages), then run this again" >&2
            exit 1
        fi
    fi
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${need[@]}" >/dev/null
fi

cargo --version
exec cargo test --release --features onnx,heic "$@"
