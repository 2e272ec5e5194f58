#!/usr/bin/env bash
# Scale benchmark: grows one index with sets of distractor references made
# by ../shared/bench/make_distractors.py, then imports the dev split and
# searches its queries, reporting for each step what issue 5 asks for:
# import throughput and peak memory, disk per image, `batch` peak memory,
# quality (score.py) and latency per query, and `serve`'s resident memory
# (anonymous and file-backed) after opening and after 200 searches.
#
# Usage: scripts/bench-scale.sh WORKDIR DISTRACTOR_DIR...
#   e.g. make_distractors.py --n 50000 --salt d1 --out /tmp/d1, and --salt d2
#   into /tmp/d2, then: scripts/bench-scale.sh /tmp/scale /tmp/d1 /tmp/d2
# Each DISTRACTOR_DIR holds records.jsonl and refs/. The dev split goes in
# last, so with a large base it lands in a delta segment, as a day's
# imports into a large database would.
#        SCALE_INDEX=DIR scripts/bench-scale.sh WORKDIR
#   measures an existing index (holding the dev split) without importing.
set -euo pipefail
cd "$(dirname "$0")/.."
bench=$(cd ../shared/bench && pwd)
work=$1
shift
mkdir -p "$work"
cargo build --release --quiet
# A copy: a rebuild of the tree during a long run must not change it.
cp target/release/provenance "$work/provenance"
bin=$work/provenance
index=${SCALE_INDEX:-$work/index}
[[ -n ${SCALE_INDEX:-} ]] || rm -rf "$index"

import() {
    local file=$1
    local before after
    before=$("$bin" info --index "$index" --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["images"])' 2>/dev/null || echo 0)
    /usr/bin/time -f "  %e s wall, %M KiB peak" "$bin" import --index "$index" "$file" 2>&1 |
        grep -v '^committed' || true
    after=$("$bin" info --index "$index" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["images"])')
    echo "  images: $before -> $after"
}

if [[ -z ${SCALE_INDEX:-} ]]; then
    for d in "$@"; do
        echo "== importing $d"
        import "$d/records.jsonl"
    done
    echo "== importing the dev split"
    import "$bench/dev/records.jsonl"
fi
"$bin" info --index "$index"
"$bin" info --index "$index" --json | python3 -c '
import json, sys
i = json.load(sys.stdin)
n = max(i["images"], 1)
kib = lambda k: i[k] / n / 1024
print("disk per image: %.1f KiB in all (store %.1f, image index %.1f, text %.1f)"
      % (kib("bytes_total"), kib("bytes_store"), kib("bytes_generation"), kib("bytes_text")))'

echo "== searching 900 query photos"
results=$work/results.jsonl
rm -f "$results"
/usr/bin/time -f "batch: %e s wall, %M KiB peak" "$bin" batch --index "$index" "$bench/dev/queries" --out "$results"
python3 "$bench/score.py" --truth "$bench/dev/truth.csv" --results "$results" --out "$work/score.json" | sed -n '1,5p'
python3 - "$results" <<'PY'
import json, statistics, sys
secs = sorted(json.loads(l)["sec"] for l in open(sys.argv[1]))
p = lambda q: secs[min(len(secs) - 1, int(q * len(secs)))]
print(f"per query: median {statistics.median(secs)*1000:.0f} ms, p95 {p(0.95)*1000:.0f} ms, "
      f"p99 {p(0.99)*1000:.0f} ms, max {secs[-1]*1000:.0f} ms ({len(secs)} queries)")
PY

echo "== serve: resident memory"
rm -f "$work/keys.json"
key=$("$bin" keys add --keys "$work/keys.json" --role officer --name scale --rate 0 2>/dev/null)
"$bin" serve --index "$index" --keys "$work/keys.json" --addr 127.0.0.1:18081 > "$work/serve.out" 2> "$work/serve.err" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
until grep -q listening "$work/serve.out"; do
    kill -0 $server 2>/dev/null || { cat "$work/serve.err" >&2; exit 1; }
    sleep 0.2
done
rss() { grep -E 'VmRSS|RssAnon|RssFile|VmHWM' /proc/$server/status | tr -s ' \t' ' ' | tr '\n' ';'; echo; }
echo "after open:  $(rss)"
n=0
for q in "$bench"/dev/queries/*; do
    curl -s -o /dev/null -H "Authorization: Bearer $key" -F "photo=@$q" http://127.0.0.1:18081/v1/search
    n=$((n + 1))
    (( n >= 200 )) && break
done
echo "after $n searches: $(rss)"
