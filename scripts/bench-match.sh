#!/usr/bin/env bash
# Photo-matching benchmark: imports ../shared/bench's dev split, runs every
# query photo through `provenance batch` and prints score.py's figures with
# the median and p99 time per query (decode to verdict, from each result's
# "sec").
#
# Usage: scripts/bench-match.sh [--distractors N] [--compact] [--jobs J] [WORKDIR]
#   --distractors N  first imports N extra reference images made by
#                    ../shared/bench/make_distractors.py (generated into
#                    WORKDIR once, in a Python venv it creates if needed),
#                    to show how quality and speed hold as the database grows.
#   --compact        runs `provenance compact` after the imports, as an
#                    operator would after a bulk load: one base segment whose
#                    visual vocabulary is learned from every image, rather
#                    than the dev split in a delta segment searched with a
#                    vocabulary learned from the distractors alone.
#   --jobs J         photos `batch` searches at once (default 1: each photo
#                    has every core, so its time is one search's latency, as
#                    an officer sees it; 2 on this machine gives the
#                    throughput of a batch job, at a longer time per photo).
# WORKDIR defaults to /tmp/provenance-match.
set -euo pipefail
cd "$(dirname "$0")/.."
bench=$(cd ../shared/bench && pwd)
distractors=0
compact=0
jobs=1
while [[ "${1:-}" == --* ]]; do
    case $1 in
        --distractors) distractors=$2; shift 2 ;;
        --compact) compact=1; shift ;;
        --jobs) jobs=$2; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
work=${1:-/tmp/provenance-match}
mkdir -p "$work"
cargo build --release --quiet
bin=$PWD/target/release/provenance
index=$work/index-$distractors
rm -rf "$index"

if (( distractors > 0 )); then
    dset=$work/distractors-$distractors
    if [[ ! -s $dset/records.jsonl ]]; then
        py=python3
        if ! python3 -c "import cv2, numpy, PIL" 2>/dev/null; then
            [[ -x $work/venv/bin/python ]] || python3 -m venv "$work/venv"
            "$work/venv/bin/pip" install --quiet numpy pillow opencv-python-headless
            py=$work/venv/bin/python
        fi
        "$py" "$bench/make_distractors.py" --n "$distractors" --out "$dset" --cache "$work/cache"
    fi
    echo "== importing $distractors distractors"
    /usr/bin/time -f "import: %e s wall, %M KiB peak" "$bin" import --index "$index" "$dset/records.jsonl"
fi

echo "== importing the dev split"
/usr/bin/time -f "import: %e s wall, %M KiB peak" "$bin" import --index "$index" "$bench/dev/records.jsonl"
if (( compact )); then
    echo "== compacting"
    /usr/bin/time -f "compact: %e s wall, %M KiB peak" "$bin" compact --index "$index"
fi
du -sh "$index"
"$bin" info --index "$index" | head -5

echo "== searching 900 query photos"
results=$work/results-$distractors.jsonl
rm -f "$results"
/usr/bin/time -f "batch: %e s wall, %M KiB peak" "$bin" batch --index "$index" --jobs "$jobs" "$bench/dev/queries" --out "$results"
python3 "$bench/score.py" --truth "$bench/dev/truth.csv" --results "$results" --out "$work/score-$distractors.json" | sed -n '1,5p'
python3 - "$results" <<'PY'
import json, statistics, sys
secs = sorted(json.loads(l)["sec"] for l in open(sys.argv[1]))
p = lambda q: secs[min(len(secs) - 1, int(q * len(secs)))]
print(f"per query: median {statistics.median(secs)*1000:.0f} ms, p95 {p(0.95)*1000:.0f} ms, "
      f"p99 {p(0.99)*1000:.0f} ms, max {secs[-1]*1000:.0f} ms ({len(secs)} queries)")
PY
