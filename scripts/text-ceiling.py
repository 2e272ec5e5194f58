#!/usr/bin/env python3
"""How far words alone can rank known-item text queries: the ceiling of a query set.

usage: text-ceiling.py RECORDS.jsonl[.gz] TRUTH.csv [RESULTS.jsonl] [--fields title,maker,materials]

For each query, the records that hold every typed word (in --fields, default the title, maker and
materials, which with the date's decades are what the shared queries are made of; a misspelt word
counted as the record's own word it was made from, within two edits) are the ones no ranking by
those words can tell from the right one. Prints:
  - how many records each query names that way;
  - MRR@10 if the right record were placed at random among them, and if they were ranked
    shortest first (the query-likelihood prior of known-item search);
  - with RESULTS.jsonl (score.py's text format): the engine's MRR@10 by that count.
Only the standard library.
"""
import argparse, collections, csv, gzip, json, re, unicodedata


def words(s):
    s = unicodedata.normalize("NFKD", s.lower())
    return re.findall(r"[a-z0-9]+", "".join(c for c in s if not unicodedata.combining(c)))


def decades(date):
    return {y[:3] + "0s" for y in re.findall(r"\d{4}", date)}


def edits(a, b, limit):
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1]))
        prev = cur
    return prev[-1]


def mrr_random(k):
    return sum(1 / p for p in range(1, min(k, 10) + 1)) / k


def main():
    ap = argparse.ArgumentParser(usage=__doc__)
    ap.add_argument("records")
    ap.add_argument("truth")
    ap.add_argument("results", nargs="?")
    ap.add_argument("--fields", default="title,maker,materials")
    a = ap.parse_args()
    fields = tuple(a.fields.split(","))
    opener = gzip.open if a.records.endswith(".gz") else open
    recs, where, length = [], {}, []
    with opener(a.records, "rt", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            toks = set()
            for field in fields:
                toks |= set(words(r.get(field, "")))
            toks |= decades(r.get("date", ""))
            where[r["id"]] = len(recs)
            recs.append(toks)
            length.append(len(words(r.get("title", ""))) + len(words(r.get("subject", ""))))
    inv = collections.defaultdict(set)
    for i, toks in enumerate(recs):
        for w in toks:
            inv[w].add(i)
    truth = list(csv.DictReader(open(a.truth, encoding="utf-8")))
    results = {}
    if a.results:
        for line in open(a.results):
            j = json.loads(line)
            results[j["query"]] = [m["id"] for m in j["matches"]]
    rand = short = 0.0
    sizes, by = [], collections.defaultdict(list)
    for t in truth:
        ti = where[t["record_id"]]
        sets = []
        for w in words(t["query"]):
            if w in recs[ti]:
                sets.append(inv[w])
            else:
                near = sorted((edits(w, x, 2), x) for x in recs[ti])
                if near and near[0][0] <= 2:
                    sets.append(inv[near[0][1]])
        named = set.intersection(*sets) if sets else set(range(len(recs)))
        k = len(named)
        sizes.append(k)
        rand += mrr_random(k)
        better = sum(1 for i in named if length[i] < length[ti])
        same = sum(1 for i in named if length[i] == length[ti])
        short += sum(1 / (better + p) for p in range(1, same + 1) if better + p <= 10) / same
        if results:
            ids = results.get(t["qid"], [])
            rr = 1 / (ids.index(t["record_id"]) + 1) if t["record_id"] in ids[:10] else 0.0
            bucket = "1" if k == 1 else "2-5" if k <= 5 else "6-20" if k <= 20 else ">20"
            by[bucket].append(rr)
    n = len(truth)
    counts = collections.Counter("1" if k == 1 else "2-5" if k <= 5 else "6-20" if k <= 20 else ">20" for k in sizes)
    print(f"{n} queries; records holding every typed word: " +
          ", ".join(f"{b}: {counts[b]}" for b in ("1", "2-5", "6-20", ">20")))
    print(f"MRR@10 at random among them {rand / n:.3f}; shortest first {short / n:.3f}")
    for b in ("1", "2-5", "6-20", ">20"):
        if by[b]:
            print(f"  engine, {b:>4} records: n={len(by[b]):4d}  MRR@10 {sum(by[b]) / len(by[b]):.3f}")


if __name__ == "__main__":
    main()
