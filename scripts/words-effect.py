#!/usr/bin/env python3
"""What words typed with a photo do to its results (`search --text`), on a benchmark split.

usage: words-effect.py --bin target/release/provenance --index IDX --split ../shared/bench/dev
                       --results BASELINE.jsonl [--half A|B] [--negatives 60]

BASELINE.jsonl is `provenance batch` over the split's queries (no words); it only picks the photos.
Each photo is then searched twice, without and with words:
  - every positive photo whose first result is not a `match` is searched again with two
    content words of its record's title, as an officer types what they see: R@1 before/after;
  - negatives are searched with two title words of an unrelated record (misleading words):
    how often that record comes first, and whether any verdict changed (never, by design).
Only the standard library.
"""
import argparse, csv, hashlib, json, os, re, subprocess

STOP = set("a an and the of in on at to from with by for near or as".split())


def title_words(title, n=2):
    ws = [w for w in re.findall(r"[^\W\d_]+", title) if w.lower() not in STOP and len(w) > 2]
    return " ".join(ws[:n])


def search(binary, index, photo, words=None):
    extra = ["--text", words] if words else []
    r = subprocess.run([binary, "search", "--index", index, photo, "--json"] + extra,
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{photo}: {r.stderr.strip()}")
    return json.loads(r.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--index", required=True)
    ap.add_argument("--split", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--half", choices="AB")
    ap.add_argument("--negatives", type=int, default=60)
    a = ap.parse_args()
    records = {}
    with open(os.path.join(a.split, "records.jsonl")) as f:
        for line in f:
            r = json.loads(line)
            records[r["id"]] = r
    ids = sorted(records)
    base = {}
    with open(a.results) as f:
        for line in f:
            j = json.loads(line)
            base[os.path.basename(j["query"])] = j["matches"]
    half = lambda key: "AB"[hashlib.sha256(key.encode()).digest()[0] & 1]
    rows = list(csv.DictReader(open(os.path.join(a.split, "truth.csv"))))
    if a.half:
        rows = [r for r in rows if half(r["ref_id"] or os.path.basename(r["file"])) == a.half]
    pos = [r for r in rows if r["ref_id"]]
    neg = [r for r in rows if not r["ref_id"]][: a.negatives]
    photo = lambda r: os.path.join(a.split, r["file"])
    first = lambda ms: ms[0]["id"] if ms else None
    verdicts = lambda ms: {m["id"]: m["verdict"] for m in ms}

    weak = [r for r in pos if not base[os.path.basename(r["file"])]
            or base[os.path.basename(r["file"])][0]["verdict"] != "match"]
    before = after = changed = reordered = 0
    for r in weak:
        ms = search(a.bin, a.index, photo(r))["matches"]
        words = title_words(records[r["ref_id"]].get("title", ""))
        v = search(a.bin, a.index, photo(r), words)
        before += first(ms) == r["ref_id"]
        after += first(v["matches"]) == r["ref_id"]
        reordered += bool(v.get("words", {}).get("reordered"))
        old = verdicts(ms)
        changed += sum(1 for m in v["matches"] if m["id"] in old and old[m["id"]] != m["verdict"])
    print(f"positives without a match: {len(weak)}; right record first {before} -> {after} "
          f"with two title words; reordered {reordered}; verdicts changed {changed}")

    misled = changed_n = reordered_n = 0
    for r in neg:
        other = ids[int(hashlib.sha256(r["file"].encode()).hexdigest(), 16) % len(ids)]
        words = title_words(records[other].get("title", ""))
        if not words:
            continue
        v = search(a.bin, a.index, photo(r), words)
        misled += first(v["matches"]) == other
        reordered_n += bool(v.get("words", {}).get("reordered"))
        old = verdicts(search(a.bin, a.index, photo(r))["matches"])
        changed_n += sum(1 for m in v["matches"] if m["id"] in old and old[m["id"]] != m["verdict"])
    print(f"negatives with an unrelated record's words: {len(neg)}; that record first {misled}; "
          f"reordered {reordered_n}; verdicts changed {changed_n}")


if __name__ == "__main__":
    main()
