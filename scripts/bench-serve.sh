#!/usr/bin/env bash
# Load test of `provenance serve`: POST /v1/search under a bounded load
# (wrk: 16 connections, 60 s, photos drawn from ../shared/bench's dev
# queries) against the dev database on 127.0.0.1; then the same while
# `provenance import` adds 1,000 records to the index being served.
# Prints wrk's latency percentiles and throughput, the server's peak
# resident memory, and the import's time.
#
# Usage: scripts/bench-serve.sh [WORKDIR]   (default /tmp/provenance-serve; needs wrk)
#        SERVE_INDEX=DIR scripts/bench-serve.sh   (an existing index, no import phase)
set -euo pipefail
cd "$(dirname "$0")/.."
bench=$(cd ../shared/bench && pwd)
work=${1:-/tmp/provenance-serve}
duration=${DURATION:-60s}
mkdir -p "$work"
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 1; }
cargo build --release --quiet
bin=$PWD/target/release/provenance
rm -f "$work/keys.json"
if [[ -n "${SERVE_INDEX:-}" ]]; then
    # An index built elsewhere (e.g. scripts/bench-match.sh --distractors
    # 50000): measured as it is, without the import phase.
    index=$SERVE_INDEX
else
    index=$work/index
    rm -rf "$index"
    echo "== importing the dev split"
    "$bin" import --index "$index" "$bench/dev/records.jsonl" 2>&1 | tail -1
fi
key=$("$bin" keys add --keys "$work/keys.json" --role officer --name load-test --rate 0 2>/dev/null)

# wrk builds every request up front from 200 query photos.
printf '%s\n' "$bench"/dev/queries/* | sed -n '1,200p' > "$work/photos.txt"
cat > "$work/search.lua" <<LUA
local boundary = "provenance-load-boundary"
local requests = {}
for path in io.lines("$work/photos.txt") do
  local f = assert(io.open(path, "rb")); local data = f:read("*all"); f:close()
  local body = "--" .. boundary .. "\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"q\"\r\n" ..
    "Content-Type: application/octet-stream\r\n\r\n" .. data .. "\r\n--" .. boundary .. "--\r\n"
  requests[#requests + 1] = wrk.format("POST", "/v1/search", {
    ["Content-Type"] = "multipart/form-data; boundary=" .. boundary,
    ["Authorization"] = "Bearer $key" }, body)
end
local i = 0
request = function() i = i % #requests + 1; return requests[i] end
local errors = 0
response = function(status) if status ~= 200 then errors = errors + 1 end end
done = function() io.write("non-200 answers: " .. errors .. " (per wrk thread)\n") end
LUA

"$bin" serve --index "$index" --keys "$work/keys.json" --addr 127.0.0.1:18080 > "$work/serve.out" 2> "$work/serve.err" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
until grep -q listening "$work/serve.out"; do
    kill -0 $server 2>/dev/null || { cat "$work/serve.err" >&2; exit 1; }
    sleep 0.2
done
url=http://127.0.0.1:18080/v1/search

echo "== POST /v1/search: one connection (one officer), 20s"
wrk -t1 -c1 -d20s --timeout 30s --latency -s "$work/search.lua" "$url" | sed -n '/Latency Distribution/,/Requests\/sec/p'

echo "== POST /v1/search: 16 connections, $duration"
wrk -t2 -c16 -d"$duration" --timeout 30s --latency -s "$work/search.lua" "$url"
echo "server peak RSS: $(grep VmHWM /proc/$server/status | awk '{print $2/1024 " MiB"}')"

if [[ -n "${SERVE_INDEX:-}" ]]; then
    curl -s http://127.0.0.1:18080/readyz; echo
    exit 0
fi

echo "== the same while importing 1,000 records into the served index"
python3 - "$bench/dev/records.jsonl" "$work/more.jsonl" <<'PY'
import json, os, sys
src, out = sys.argv[1], sys.argv[2]
base = os.path.dirname(os.path.abspath(src))
recs = [json.loads(l) for l in open(src)][:1000]
with open(out, "w") as f:
    for i, r in enumerate(recs):
        r["id"] = f"load-{i:04d}"
        r["images"] = [os.path.join(base, p) for p in r["images"]]
        f.write(json.dumps(r) + "\n")
PY
wrk -t2 -c16 -d"$duration" --timeout 30s --latency -s "$work/search.lua" "$url" > "$work/wrk-import.txt" &
load=$!
sleep 5
/usr/bin/time -f "import of 1,000 records while serving: %e s wall" "$bin" import --index "$index" "$work/more.jsonl" 2>&1 | tail -2
wait $load
cat "$work/wrk-import.txt"
echo "server peak RSS: $(grep VmHWM /proc/$server/status | awk '{print $2/1024 " MiB"}')"
curl -s http://127.0.0.1:18080/readyz; echo
