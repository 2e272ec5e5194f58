#!/usr/bin/env bash
# Text-search benchmark: imports ../shared/bench/text (69,202 text-only
# records), runs every known-item query through `provenance text --json`
# and scores MRR@10 / R@1 / R@10 with the benchmark's scorer.
# Usage: scripts/bench-text.sh [WORKDIR]   (default /tmp/provenance-text)
set -euo pipefail
cd "$(dirname "$0")/.."
bench=../shared/bench
work=${1:-/tmp/provenance-text}
mkdir -p "$work"
cargo build --release --quiet
bin=target/release/provenance
zcat "$bench/text/records.jsonl.gz" > "$work/records.jsonl"
rm -rf "$work/index"
/usr/bin/time -f "import: %e s, %M KiB peak" "$bin" import --index "$work/index" "$work/records.jsonl"
python3 - "$bin" "$work" "$bench/text/truth-dev.csv" <<'PY'
import csv, json, subprocess, sys, time, statistics
binary, work, truth = sys.argv[1:4]
times = []
with open(f"{work}/results.jsonl", "w") as out:
    for row in csv.DictReader(open(truth)):
        t = time.perf_counter()
        r = subprocess.run([binary, "text", "--index", f"{work}/index", "--json", "--top", "10", row["query"]],
                           capture_output=True, text=True, check=True)
        times.append(time.perf_counter() - t)
        line = json.loads(r.stdout)
        line["query"] = row["qid"]
        out.write(json.dumps(line) + "\n")
print(f"per query, whole process (open index + search): median {statistics.median(times)*1000:.1f} ms")
PY
python3 "$bench/score.py" --text --truth "$bench/text/truth-dev.csv" --results "$work/results.jsonl"
