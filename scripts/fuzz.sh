#!/usr/bin/env bash
# Runs every cargo-fuzz target for SECONDS each (default 60) from the
# committed seeds under fuzz/corpus/. cargo-fuzz needs nightly flags; on
# the stable toolchain RUSTC_BOOTSTRAP=1 allows them (the sanitizer
# runtimes ship with the standard library on x86_64 Linux).
#
# Usage: scripts/fuzz.sh [SECONDS]        (needs `cargo install cargo-fuzz`)
# FUZZ_BUILD=--dev builds without optimisation: about 3x quicker to build
# (2.5 instead of 7 min here), slower to run; CI's short pass uses it.
# A crash leaves its input in fuzz/artifacts/TARGET/: add it as a
# regression test (tests/integration/bad_input.rs) and fix it.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs=${1:-60}
export RUSTC_BOOTSTRAP=1
for target in decode_image parse_records search_descriptors; do
    # Work on a copy of the seeds: the committed corpus stays small.
    work=$(mktemp -d)
    cp corpus/$target/* "$work"/
    echo "== $target, ${secs}s"
    cargo fuzz run ${FUZZ_BUILD:--O} "$target" "$work" -- -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 2>&1 \
        | grep -E '^(#[0-9]+ +DONE|==[0-9]+==|SUMMARY|Done|artifact_prefix|Test unit written)' || true
    rm -rf "$work"
    if ls artifacts/$target/crash-* artifacts/$target/timeout-* artifacts/$target/oom-* >/dev/null 2>&1; then
        echo "fuzzing $target found a failing input: see fuzz/artifacts/$target/" >&2
        exit 1
    fi
done
