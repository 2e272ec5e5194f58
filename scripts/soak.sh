#!/usr/bin/env bash
# The soak test at length: officers searching, curators writing and
# deleting, a CLI import, and `serve` killed with SIGKILL every 0.8-3 s and
# restarted, for MINUTES (default 30). It prints the counts (kills,
# searches, writes, 503s) and fails on any acknowledged write lost, any
# 5xx but 503, or a `verify` that is not clean. SOAK_SEED=N replays a run.
# The CI runs the same test for 40 seconds (`cargo test` runs it); the same
# features as scripts/test.sh, so that its build is reused.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-30}
SOAK_SECONDS=$((minutes * 60)) exec cargo test --release --features onnx,heic --test integration \
    soak_kills_under_load -- --nocapture
