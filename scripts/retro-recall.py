#!/usr/bin/env python3
"""How many of the pairs a search would flag does a retro-alert raise?

The measurement behind docs/decisions.md ("Retro-alerts: a lead, then the
search again"): every query photo of a split is kept as a sighting in an
index without the split's records (`batch --keep`), the records are then
imported (which raises the alerts), and the same photos are searched again
(`batch`). An alert should exist exactly for the (record, photo) pairs that
search gives `match`, `partial` or `possible`.

usage: retro-recall.py KEEP.jsonl SEARCH.jsonl ALERTS.json TRUTH.csv [HALF.csv]
  KEEP.jsonl    the `batch --keep` output (query -> sighting id)
  SEARCH.jsonl  a `batch` of the same photos after the import
  ALERTS.json   `provenance alerts --json`
  TRUTH.csv     the split's truth.csv (qid,file,ref_id,...)
  HALF.csv      only the photos of this half (halves.py's truth.A.csv or truth.B.csv)
"""
import csv
import json
import os
import sys
from collections import Counter


def lines(path):
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def main(keep, search, alerts, truth, half=None):
    only = None
    if half:
        with open(half) as f:
            only = {os.path.basename(r["file"]) for r in csv.DictReader(f)}
    sighting_of = {l["query"]: l.get("sighting") for l in lines(keep)
                   if only is None or os.path.basename(l["query"]) in only}
    query_of = {s: q for q, s in sighting_of.items()}
    flagged = {}
    for l in lines(search):
        if l["query"] not in sighting_of:
            continue
        for m in l["matches"]:
            if m["verdict"] != "none":
                flagged[(m["id"], l["query"])] = m["verdict"]
    with open(alerts) as f:
        alerted = {(a["record"], query_of[a["sighting"]["id"]]): a["verdict"] for a in json.load(f)
                   if a["sighting"]["id"] in query_of}
    right = {}
    with open(truth) as f:
        for row in csv.DictReader(f):
            if row["ref_id"]:
                right[os.path.basename(row["file"])] = row["ref_id"]

    def q(name):
        return os.path.basename(name)

    by_verdict = Counter(flagged.values())
    found = Counter(v for p, v in flagged.items() if p in alerted)
    print(f"sightings kept: {len(sighting_of)}; pairs a search flags: {len(flagged)}; alerts: {len(alerted)}")
    for v in ("match", "partial", "possible"):
        n = by_verdict[v]
        print(f"  {v:8} flagged {n:4}  alerted {found[v]:4}  ({100 * found[v] / max(n, 1):.1f}%)")
    true_flagged = [p for p in flagged if right.get(q(p[1])) == p[0]]
    true_alerted = [p for p in true_flagged if p in alerted]
    print(f"right record flagged by the search: {len(true_flagged)}; alerted: {len(true_alerted)} "
          f"({100 * len(true_alerted) / max(len(true_flagged), 1):.1f}%)")
    wrong = [p for p in alerted if right.get(q(p[1])) != p[0]]
    extra = [p for p in alerted if p not in flagged]
    print(f"alerts for a record other than the photo's: {len(wrong)} "
          f"({Counter(alerted[p] for p in wrong)})")
    print(f"alerts the search does not flag (its verdict moved since): {len(extra)}")
    same = sum(1 for p in alerted if p in flagged and flagged[p] == alerted[p])
    print(f"alerts with the search's verdict: {same} of {len(alerted)}")


if __name__ == "__main__":
    if len(sys.argv) not in (5, 6):
        sys.exit(__doc__)
    main(*sys.argv[1:])
